
Z


roottest
fw-1