package mesos

import "errors"

// ParseResources parses the Mesos --resources grammar, e.g.
// "cpus:4;mem:4096;ports:[31000-32000];disks:{a,b};cpus(ops):2".
func ParseResources(s string) (Resources, error) {
	return nil, errors.New("not yet")
}

// ParseAttributes parses the Mesos --attributes grammar, e.g.
// "rack:r1;os:linux;level:3;zones:{a,b};ids:[1-5]".
func ParseAttributes(s string) ([]Attribute, error) {
	return nil, errors.New("not yet")
}
