")
'/frameworks/F1/executors/E1/runs/latest