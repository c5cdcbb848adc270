:
Executor is not subscribed