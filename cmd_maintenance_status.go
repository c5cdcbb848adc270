package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"mesh/mesos"
)

// maintenanceStatus prints each scheduled machine: its mode, window, the
// agents registered from it with their drain state, and the frameworks'
// latest answers to its inverse offers.
func maintenanceStatus(c *cli.Context) error {
	api := newAPIClient(c)
	st, err := getMaintenanceStatus(c.Context, api)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, st)
	}
	sched, err := getSchedule(c.Context, api)
	if err != nil {
		return err
	}
	agents, err := listAgents(c.Context, api)
	if err != nil {
		return err
	}
	byMachine := map[string][]string{}
	for _, a := range agents {
		drain := "active"
		if a.DrainInfo != nil {
			drain = a.DrainInfo.State
		} else if a.Deactivated {
			drain = "deactivated"
		}
		k := machineKey(agentMachine(a))
		byMachine[k] = append(byMachine[k], agentIDOf(a)+"("+drain+")")
	}
	mode := map[string]string{}
	answers := map[string][]string{}
	for _, d := range st.DrainingMachines {
		mode[machineKey(d.ID)] = "DRAINING"
		for _, s := range d.Statuses {
			answers[machineKey(d.ID)] = append(answers[machineKey(d.ID)], s.FrameworkID.Value+":"+s.Status)
		}
	}
	for _, d := range st.DownMachines {
		mode[machineKey(d)] = "DOWN"
	}
	t := newTable(c.App.Writer, "MACHINE", "MODE", "START", "DURATION", "AGENTS", "ANSWERS")
	for _, w := range sched.Windows {
		for _, m := range w.MachineIDs {
			k := machineKey(m)
			ags, ans := byMachine[k], answers[k]
			sort.Strings(ags)
			sort.Strings(ans)
			t.row(machineString(m), mode[k], startString(w.Unavailability), durationString(w.Unavailability),
				orDash(strings.Join(ags, " ")), orDash(strings.Join(ans, " ")))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(sched.Windows) == 0 {
		fmt.Fprintln(c.App.Writer, "no machine is scheduled for maintenance")
	}
	return nil
}

// machineKey matches machines as the server does: both fields, the
// hostname without regard to case.
func machineKey(m mesos.MachineID) string { return strings.ToLower(m.Hostname) + "|" + m.IP }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
