package executor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/tlsutil"
)

// Environment variables the agent sets for every executor (Mesos' names,
// plus mesh's own).
const (
	EnvFrameworkID            = "MESOS_FRAMEWORK_ID"
	EnvExecutorID             = "MESOS_EXECUTOR_ID"
	EnvAgentEndpoint          = "MESOS_AGENT_ENDPOINT"
	EnvDirectory              = "MESOS_DIRECTORY"
	EnvSandbox                = "MESOS_SANDBOX"
	EnvCheckpoint             = "MESOS_CHECKPOINT"
	EnvShutdownGracePeriod    = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"
	EnvRecoveryTimeout        = "MESOS_RECOVERY_TIMEOUT"
	EnvSubscriptionBackoffMax = "MESOS_SUBSCRIPTION_BACKOFF_MAX"
	EnvContainerID            = "MESH_CONTAINER_ID"
	// EnvExecutorToken is the secret the executor proves itself with on
	// every executor API call (Authorization: Bearer), as Mesos' executor
	// authentication. The command executor does not pass it to its task.
	EnvExecutorToken = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
	// EnvAgentTLSCA holds, when the agent serves TLS, the PEM of the CA
	// its certificate is signed by: the executor speaks https to it.
	EnvAgentTLSCA = "MESH_AGENT_TLS_CA_PEM"
)

// Defaults of the command executor, as Mesos'.
const (
	DefaultRecoveryTimeout        = 15 * time.Minute
	DefaultShutdownGracePeriod    = 5 * time.Second
	DefaultSubscriptionBackoffMax = 2 * time.Second
	DefaultKillGracePeriod        = 3 * time.Second
)

// CommandExecutorConfig configures the command executor. The agent passes
// it through the environment; see CommandExecutorConfigFromEnv.
type CommandExecutorConfig struct {
	FrameworkID string
	ExecutorID  string
	// AgentEndpoint is the agent's host:port.
	AgentEndpoint string
	// Directory is the sandbox on the host; Sandbox is the same directory
	// as the task sees it (the same path under posix isolation).
	Directory string
	Sandbox   string
	// ContainerID is the executor's container.
	ContainerID string
	// Token authenticates the executor's calls (EnvExecutorToken).
	Token string
	// AgentCAPEM, when set, is the CA of the agent's TLS certificate
	// (EnvAgentTLSCA).
	AgentCAPEM string
	// TaskRootfs, when set, is the task's own root filesystem: the task
	// is chrooted into it, works in Sandbox (a path inside it) and runs
	// as TaskUser.
	TaskRootfs string
	TaskUser   string
	// TaskCaps are the capabilities kept for a task in an image
	// (EnvTaskCaps).
	TaskCaps string
	// FetcherCache, when set, is where URIs marked `cache` are kept and
	// fetched again from.
	FetcherCache string
	// Checkpoint makes the executor survive an agent restart: when its
	// connection drops it resubscribes for up to RecoveryTimeout instead
	// of exiting.
	Checkpoint      bool
	RecoveryTimeout time.Duration
	// SubscriptionBackoffMax caps the wait between subscription attempts.
	SubscriptionBackoffMax time.Duration
	// ShutdownGracePeriod is how long the agent waits after SHUTDOWN
	// before it destroys the container; the executor kills its task
	// within it.
	ShutdownGracePeriod time.Duration
	Logger              hclog.Logger
}

// CommandExecutorConfigFromEnv reads the configuration the agent passes in
// the environment. getenv is usually os.Getenv.
func CommandExecutorConfigFromEnv(getenv func(string) string) (CommandExecutorConfig, error) {
	cfg := CommandExecutorConfig{
		FrameworkID:   getenv(EnvFrameworkID),
		ExecutorID:    getenv(EnvExecutorID),
		AgentEndpoint: getenv(EnvAgentEndpoint),
		Directory:     getenv(EnvDirectory),
		Sandbox:       getenv(EnvSandbox),
		ContainerID:   getenv(EnvContainerID),
		Token:         getenv(EnvExecutorToken),
		AgentCAPEM:    getenv(EnvAgentTLSCA),
		TaskRootfs:    getenv(EnvTaskRootfs),
		TaskUser:      getenv(EnvTaskUser),
		TaskCaps:      getenv(EnvTaskCaps),
		FetcherCache:  getenv(EnvFetcherCache),
	}
	var missing []string
	for name, v := range map[string]string{
		EnvFrameworkID: cfg.FrameworkID, EnvExecutorID: cfg.ExecutorID, EnvAgentEndpoint: cfg.AgentEndpoint,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return cfg, fmt.Errorf("the executor is started by an agent: %s not set", strings.Join(missing, ", "))
	}
	if cfg.AgentCAPEM != "" {
		if _, err := tlsutil.ClientConfigPEM([]byte(cfg.AgentCAPEM), tlsutil.RoleAgent); err != nil {
			return cfg, fmt.Errorf("%s: %w", EnvAgentTLSCA, err)
		}
	}
	if cfg.Directory == "" {
		wd, err := os.Getwd()
		if err != nil {
			return cfg, fmt.Errorf("%s not set and no working directory: %w", EnvDirectory, err)
		}
		cfg.Directory = wd
	}
	if cfg.Sandbox == "" {
		cfg.Sandbox = cfg.Directory
	}
	switch v := getenv(EnvCheckpoint); v {
	case "", "0", "false":
	case "1", "true":
		cfg.Checkpoint = true
	default:
		return cfg, fmt.Errorf("%s=%q: want 1 or 0", EnvCheckpoint, v)
	}
	var errs []error
	durations := []struct {
		env string
		dst *time.Duration
	}{
		{EnvRecoveryTimeout, &cfg.RecoveryTimeout},
		{EnvShutdownGracePeriod, &cfg.ShutdownGracePeriod},
		{EnvSubscriptionBackoffMax, &cfg.SubscriptionBackoffMax},
	}
	for _, d := range durations {
		v := getenv(d.env)
		if v == "" {
			continue
		}
		x, err := ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.env, err))
			continue
		}
		*d.dst = x
	}
	return cfg, errors.Join(errs...)
}

func (c *CommandExecutorConfig) setDefaults() {
	if c.RecoveryTimeout <= 0 {
		c.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if c.ShutdownGracePeriod <= 0 {
		c.ShutdownGracePeriod = DefaultShutdownGracePeriod
	}
	if c.SubscriptionBackoffMax <= 0 {
		c.SubscriptionBackoffMax = DefaultSubscriptionBackoffMax
	}
	if c.Sandbox == "" {
		c.Sandbox = c.Directory
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
}
