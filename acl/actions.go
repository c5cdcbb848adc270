package acl

// Action is what a rule is about, named as the key of its rules in the
// ACL file (Mesos' ACLs message).
type Action string

// The actions mesh checks. Each names the objects of its rules in its own
// key (objectKey): roles, users, paths, agents, machines…
const (
	RegisterFrameworks   Action = "register_frameworks"
	RunTasks             Action = "run_tasks"
	TeardownFrameworks   Action = "teardown_frameworks"
	ReserveResources     Action = "reserve_resources"
	UnreserveResources   Action = "unreserve_resources"
	CreateVolumes        Action = "create_volumes"
	DestroyVolumes       Action = "destroy_volumes"
	GetQuotas            Action = "get_quotas"
	UpdateQuotas         Action = "update_quotas"
	ViewRoles            Action = "view_roles"
	UpdateWeights        Action = "update_weights"
	GetEndpoints         Action = "get_endpoints"
	ViewFrameworks       Action = "view_frameworks"
	ViewTasks            Action = "view_tasks"
	ViewExecutors        Action = "view_executors"
	ViewAgents           Action = "view_agents"
	AccessSandboxes      Action = "access_sandboxes"
	AccessMesosLogs      Action = "access_mesos_logs"
	ViewFlags            Action = "view_flags"
	SetLogLevel          Action = "set_log_level"
	RegisterAgents       Action = "register_agents"
	UpdateMaintenance    Action = "update_maintenance_schedules"
	GetMaintenance       Action = "get_maintenance_schedules"
	StartMaintenance     Action = "start_maintenances"
	StopMaintenance      Action = "stop_maintenances"
	GetMaintenanceStatus Action = "get_maintenance_statuses"
	DrainAgents          Action = "drain_agents"
	DeactivateAgents     Action = "deactivate_agents"
	ReactivateAgents     Action = "reactivate_agents"
	MarkAgentsGone       Action = "mark_agents_gone"
)

// actionSpec says how the rules of an action are written.
type actionSpec struct {
	// objects is the key of a rule's objects.
	objects string
	// roles: the objects are roles, and "parent/%" or "parent/*" stands
	// for every role nested under parent.
	roles bool
}

// actions are the actions mesh checks. view_agents is mesh's own (Mesos
// shows every agent and hides only the resources of roles one may not
// view); its objects are agents' hostnames.
var actions = map[Action]actionSpec{
	RegisterFrameworks:   {"roles", true},
	RunTasks:             {"users", false},
	TeardownFrameworks:   {"framework_principals", false},
	ReserveResources:     {"roles", true},
	UnreserveResources:   {"reserver_principals", false},
	CreateVolumes:        {"roles", true},
	DestroyVolumes:       {"creator_principals", false},
	GetQuotas:            {"roles", true},
	UpdateQuotas:         {"roles", true},
	ViewRoles:            {"roles", true},
	UpdateWeights:        {"roles", true},
	GetEndpoints:         {"paths", false},
	ViewFrameworks:       {"users", false},
	ViewTasks:            {"users", false},
	ViewExecutors:        {"users", false},
	ViewAgents:           {"agents", false},
	AccessSandboxes:      {"users", false},
	AccessMesosLogs:      {"logs", false},
	ViewFlags:            {"flags", false},
	SetLogLevel:          {"level", false},
	RegisterAgents:       {"agents", false},
	UpdateMaintenance:    {"machines", false},
	GetMaintenance:       {"machines", false},
	StartMaintenance:     {"machines", false},
	StopMaintenance:      {"machines", false},
	GetMaintenanceStatus: {"machines", false},
	DrainAgents:          {"agents", false},
	DeactivateAgents:     {"agents", false},
	ReactivateAgents:     {"agents", false},
	MarkAgentsGone:       {"agents", false},
}

// ignoredActions are Mesos actions about features mesh does not have: a
// Mesos file that gives rules for them still loads, and they are named in
// a log line.
var ignoredActions = map[string]bool{
	"launch_nested_containers_as_user": true, "launch_nested_containers_under_parent_with_user": true,
	"kill_nested_containers": true, "wait_nested_containers": true,
	"launch_nested_container_sessions_as_user": true, "launch_nested_container_sessions_under_parent_with_user": true,
	"attach_containers_input": true, "attach_containers_output": true, "view_containers": true,
	"remove_nested_containers": true, "launch_standalone_containers": true, "kill_standalone_containers": true,
	"wait_standalone_containers": true, "remove_standalone_containers": true, "view_standalone_containers": true,
	"modify_resource_provider_configs": true, "mark_resource_providers_gone": true, "view_resource_providers": true,
	"prune_images": true, "resize_volumes": true, "create_block_disks": true, "destroy_block_disks": true,
	"create_mount_disks": true, "destroy_mount_disks": true, "destroy_raw_disks": true,
}

func (a Action) hierarchicalRoles() bool { return actions[a].roles }
