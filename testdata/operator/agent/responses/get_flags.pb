‹

allow_root_tasksfalse

enable_debugfalse
$
executor_registration_timeout20s
$
executor_shutdown_grace_period3s
0
fetcher_cache_dir/var/lib/mesh/fetcher-cache

fetcher_cache_size2048MB

gc_delay168h0m0s

gc_disk_headroom0.1

host_volumes

	isolationposix

kill_tasks_on_shutdowntrue

prestart_containers1

task_capabilities

work_dir/var/lib/mesh