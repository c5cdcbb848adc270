package main

import (
	"strings"
	"testing"
)

func TestIsLoopback_OnlyThisMachinesAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5050": true, "127.0.0.13:0": true, "[::1]:5050": true, "localhost:5050": true,
		"0.0.0.0:5050": false, ":5050": false, "10.0.0.1:5050": false, "[::]:5050": false, "mesh.example:5050": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
	if got := exposedAddr("127.0.0.1:1", "0.0.0.0:2", "10.0.0.1:3"); got != "0.0.0.0:2" {
		t.Errorf("exposedAddr = %q, want the first that is not loopback", got)
	}
}

func TestServerAuthFlags_SecretNeverAFlagValue(t *testing.T) {
	for _, f := range append(serverAuthFlags(), credentialFlags()...) {
		for _, name := range f.Names() {
			if name == "secret" || strings.HasSuffix(name, "-secret") {
				t.Errorf("flag -%s takes a secret on the command line, where ps shows it", name)
			}
		}
	}
}
