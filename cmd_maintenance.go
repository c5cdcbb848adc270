package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// maintenanceCommand is `mesh maintenance schedule|start|stop|status`:
// Mesos' maintenance primitives from the command line.
func maintenanceCommand() *cli.Command {
	machineFlags := []cli.Flag{
		&cli.StringFlag{Name: "machines", Usage: "comma-separated machines: HOSTNAME, HOSTNAME@IP or @IP"},
		&cli.StringFlag{Name: "attribute", Usage: "the machines of the registered agents with this attribute (e.g. rack:r1)"},
	}
	return &cli.Command{
		Name:  "maintenance",
		Usage: "schedule maintenance of machines, take them down, bring them up, and see where each stands",
		Subcommands: []*cli.Command{
			{
				Name: "schedule",
				Usage: "show the schedule; or add a window of machines (-machines or -attribute, -start, -duration); " +
					"or post a whole schedule (-file, Mesos' Schedule JSON); -clear empties it",
				Flags: append(append(clientFlags(), machineFlags...),
					&cli.StringFlag{Name: "start", Value: "now", Usage: "when the window starts: now, +DURATION (e.g. +10m) or an RFC 3339 time"},
					&cli.DurationFlag{Name: "duration", Value: time.Hour, Usage: "how long the machines may be unavailable"},
					&cli.StringFlag{Name: "file", Usage: "post this schedule (Mesos' maintenance Schedule as JSON), replacing the current one"},
					&cli.BoolFlag{Name: "clear", Usage: "post an empty schedule (DOWN machines must be brought up first)"},
				),
				Action: maintenanceSchedule,
			},
			{
				Name:   "start",
				Usage:  "take scheduled machines DOWN: their agents are drained and refused until stop",
				Flags:  append(clientFlags(), machineFlags...),
				Action: func(c *cli.Context) error { return maintenanceMachines(c, mapi.CallStartMaintenance) },
			},
			{
				Name:  "stop",
				Usage: "bring DOWN machines UP (-machines, or -all of them): out of the schedule, their agents offered again",
				Flags: append(append(clientFlags(), machineFlags[0]),
					&cli.BoolFlag{Name: "all", Usage: "every DOWN machine"}),
				Action: func(c *cli.Context) error { return maintenanceMachines(c, mapi.CallStopMaintenance) },
			},
			{
				Name:   "status",
				Usage:  "where each scheduled machine stands: mode, window, its agents' drain, the frameworks' answers",
				Flags:  clientFlags(),
				Action: maintenanceStatus,
			},
		},
	}
}

// parseMachines reads a -machines list: HOSTNAME, HOSTNAME@IP or @IP.
func parseMachines(s string) ([]mesos.MachineID, error) {
	var out []mesos.MachineID
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		host, ip, _ := strings.Cut(part, "@")
		if host == "" && ip == "" {
			return nil, fmt.Errorf("machine %q has neither a hostname nor an IP", part)
		}
		if strings.ContainsAny(host+ip, "@ \t") {
			return nil, fmt.Errorf("machine %q: want HOSTNAME, HOSTNAME@IP or @IP", part)
		}
		out = append(out, mesos.MachineID{Hostname: host, IP: ip})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no machine in %q", s)
	}
	return out, nil
}

// parseStart reads -start: now, +DURATION or an RFC 3339 time.
func parseStart(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("-start %q: want now, +DURATION (e.g. +10m) or an RFC 3339 time", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-start %q: want now, +DURATION (e.g. +10m) or an RFC 3339 time", s)
	}
	return t, nil
}

// selectedMachines is the machines -machines or -attribute name.
func selectedMachines(c *cli.Context, api *apiClient) ([]mesos.MachineID, error) {
	switch {
	case c.IsSet("machines") && c.IsSet("attribute"):
		return nil, fmt.Errorf("give -machines or -attribute, not both")
	case c.IsSet("machines"):
		return parseMachines(c.String("machines"))
	case c.IsSet("attribute"):
		want, err := parseAttribute(c.String("attribute"))
		if err != nil {
			return nil, err
		}
		agents, err := agentsWith(c.Context, api, want)
		if err != nil {
			return nil, err
		}
		seen := map[mesos.MachineID]bool{}
		var out []mesos.MachineID
		for _, a := range agents {
			if m := agentMachine(a); !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no registered agent has the attribute %s", c.String("attribute"))
		}
		return out, nil
	}
	return nil, fmt.Errorf("name the machines with -machines or -attribute")
}

// getSchedule makes a GET_MAINTENANCE_SCHEDULE call.
func getSchedule(ctx context.Context, api *apiClient) (mapi.MaintenanceSchedule, error) {
	resp, err := api.operator(ctx, map[string]string{"type": mapi.CallGetMaintenanceSchedule})
	if err != nil {
		return mapi.MaintenanceSchedule{}, err
	}
	if resp.GetMaintenanceSchedule == nil {
		return mapi.MaintenanceSchedule{}, fmt.Errorf("GET_MAINTENANCE_SCHEDULE: the answer has no get_maintenance_schedule")
	}
	return resp.GetMaintenanceSchedule.Schedule, nil
}

// postSchedule makes an UPDATE_MAINTENANCE_SCHEDULE call.
func postSchedule(ctx context.Context, api *apiClient, s mapi.MaintenanceSchedule) error {
	_, err := api.operator(ctx, map[string]any{"type": mapi.CallUpdateMaintenanceSchedule,
		"update_maintenance_schedule": map[string]any{"schedule": s}})
	return err
}

func maintenanceSchedule(c *cli.Context) error {
	api := newAPIClient(c)
	switch {
	case c.Bool("clear"):
		if err := postSchedule(c.Context, api, mapi.MaintenanceSchedule{}); err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, "maintenance schedule cleared")
		return nil
	case c.IsSet("file"):
		b, err := os.ReadFile(c.String("file"))
		if err != nil {
			return err
		}
		var s mapi.MaintenanceSchedule
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%s: not a maintenance schedule: %v", c.String("file"), err)
		}
		if err := postSchedule(c.Context, api, s); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "maintenance schedule of %d windows posted\n", len(s.Windows))
		return nil
	case c.IsSet("machines") || c.IsSet("attribute"):
		return addWindow(c, api)
	}
	s, err := getSchedule(c.Context, api)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	t := newTable(c.App.Writer, "WINDOW", "START", "DURATION", "MACHINES")
	for i, w := range s.Windows {
		var ms []string
		for _, m := range w.MachineIDs {
			ms = append(ms, machineString(m))
		}
		t.row(fmt.Sprint(i), startString(w.Unavailability), durationString(w.Unavailability), strings.Join(ms, " "))
	}
	return t.flush()
}

// addWindow adds one window to the current schedule.
func addWindow(c *cli.Context, api *apiClient) error {
	machines, err := selectedMachines(c, api)
	if err != nil {
		return err
	}
	start, err := parseStart(c.String("start"), time.Now())
	if err != nil {
		return err
	}
	if c.Duration("duration") < 0 {
		return fmt.Errorf("-duration %s must not be negative", c.Duration("duration"))
	}
	s, err := getSchedule(c.Context, api)
	if err != nil {
		return err
	}
	d := mesos.DurationInfo{Nanoseconds: int64(c.Duration("duration"))}
	s.Windows = append(s.Windows, mapi.MaintenanceWindow{MachineIDs: machines,
		Unavailability: &mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: start.UnixNano()}, Duration: &d}})
	if err := postSchedule(c.Context, api, s); err != nil {
		return err
	}
	var ms []string
	for _, m := range machines {
		ms = append(ms, machineString(m))
	}
	fmt.Fprintf(c.App.Writer, "scheduled %d machines from %s for %s: %s\n", len(machines),
		start.UTC().Format(time.RFC3339), c.Duration("duration"), strings.Join(ms, " "))
	return nil
}

// maintenanceMachines makes a START_MAINTENANCE or STOP_MAINTENANCE call.
func maintenanceMachines(c *cli.Context, typ string) error {
	api := newAPIClient(c)
	var machines []mesos.MachineID
	var err error
	if typ == mapi.CallStopMaintenance && c.Bool("all") {
		machines, err = downMachines(c.Context, api)
		if err == nil && len(machines) == 0 {
			err = fmt.Errorf("no machine is DOWN")
		}
	} else {
		machines, err = selectedMachines(c, api)
	}
	if err != nil {
		return err
	}
	_, err = api.operator(c.Context, map[string]any{"type": typ, strings.ToLower(typ): map[string]any{"machines": machines}})
	if err != nil {
		return err
	}
	var ms []string
	for _, m := range machines {
		ms = append(ms, machineString(m))
	}
	verb := "DOWN"
	if typ == mapi.CallStopMaintenance {
		verb = "UP"
	}
	fmt.Fprintf(c.App.Writer, "%d machines %s: %s\n", len(machines), verb, strings.Join(ms, " "))
	return nil
}

// downMachines lists the DOWN machines (GET_MAINTENANCE_STATUS).
func downMachines(ctx context.Context, api *apiClient) ([]mesos.MachineID, error) {
	st, err := getMaintenanceStatus(ctx, api)
	if err != nil {
		return nil, err
	}
	return st.DownMachines, nil
}

func getMaintenanceStatus(ctx context.Context, api *apiClient) (mapi.MaintenanceClusterStatus, error) {
	resp, err := api.operator(ctx, map[string]string{"type": mapi.CallGetMaintenanceStatus})
	if err != nil {
		return mapi.MaintenanceClusterStatus{}, err
	}
	if resp.GetMaintenanceStatus == nil {
		return mapi.MaintenanceClusterStatus{}, fmt.Errorf("GET_MAINTENANCE_STATUS: the answer has no get_maintenance_status")
	}
	return resp.GetMaintenanceStatus.Status, nil
}

func machineString(m mesos.MachineID) string {
	if m.IP == "" {
		return m.Hostname
	}
	return m.Hostname + "@" + m.IP
}

func startString(u *mesos.Unavailability) string {
	if u == nil {
		return "-"
	}
	return time.Unix(0, u.Start.Nanoseconds).UTC().Format(time.RFC3339)
}

func durationString(u *mesos.Unavailability) string {
	if u == nil || u.Duration == nil {
		return "forever"
	}
	return time.Duration(u.Duration.Nanoseconds).String()
}
