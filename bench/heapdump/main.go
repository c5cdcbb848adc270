// Command heapdump reads a Go heap dump (runtime/debug.WriteHeapDump;
// a mesh server or agent run with -enable-debug serves one of itself at
// /debug/heapdump) and tells, size class by size class, how many heap
// pages its live objects hold and how full those pages are: where a
// process' resident heap goes beyond its live data. Go never moves an
// object, so a page stays in use while any object on it lives.
//
//	curl -o leader.dump http://127.0.0.1:5050/debug/heapdump
//	go run ./bench/heapdump -samples 48,16 leader.dump
//
// It is not part of the mesh binary.
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
)

// pageBytes is the Go heap's page.
const pageBytes = 8192

// samplesKept is how many objects of a size -samples shows.
const samplesKept = 20

func main() {
	top := flag.Int("top", 25, "size classes to list, those with the most unused bytes first")
	samples := flag.String("samples", "", "comma-separated object sizes whose contents to sample")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: heapdump [-top N] [-samples SIZE,...] DUMP")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "heapdump:", err)
		os.Exit(1)
	}
	defer f.Close()
	want, err := parseSizes(*samples)
	if err != nil {
		fmt.Fprintln(os.Stderr, "heapdump: -samples:", err)
		os.Exit(2)
	}
	occ, err := readOccupancy(f, want)
	if err != nil {
		fmt.Fprintln(os.Stderr, "heapdump:", err)
		os.Exit(1)
	}
	occ.write(os.Stdout, *top)
}

func parseSizes(s string) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a size in bytes", f)
		}
		out[n] = true
	}
	return out, nil
}

// sizeClass is what the dump's objects of one size hold.
type sizeClass struct {
	size    uint64
	objects uint64
	pages   map[uint64]struct{}
	samples []Object // a uniform sample, when asked for
}

// occupancy is the dump's objects by size.
type occupancy struct {
	classes map[uint64]*sizeClass
}

// readOccupancy reads a dump's objects, sampling those of the wanted
// sizes.
func readOccupancy(r io.Reader, want map[uint64]bool) (*occupancy, error) {
	o := &occupancy{classes: map[uint64]*sizeClass{}}
	err := ReadObjects(r, func(obj Object) error {
		size := uint64(len(obj.Data))
		if size == 0 {
			return nil
		}
		c := o.classes[size]
		if c == nil {
			c = &sizeClass{size: size, pages: map[uint64]struct{}{}}
			o.classes[size] = c
		}
		c.objects++
		for p := obj.Addr / pageBytes; p <= (obj.Addr+size-1)/pageBytes; p++ {
			c.pages[p] = struct{}{}
		}
		if want[size] {
			c.sample(obj)
		}
		return nil
	})
	return o, err
}

// sample keeps obj with the probability that leaves a uniform sample.
func (c *sizeClass) sample(obj Object) {
	keep := Object{Addr: obj.Addr, Data: append([]byte(nil), obj.Data[:min(len(obj.Data), 64)]...)}
	if len(c.samples) < samplesKept {
		c.samples = append(c.samples, keep)
	} else if i := rand.Uint64N(c.objects); i < samplesKept {
		c.samples[i] = keep
	}
}

func (c *sizeClass) bytes() uint64     { return c.objects * c.size }
func (c *sizeClass) pageBytes() uint64 { return uint64(len(c.pages)) * pageBytes }

// unused is the bytes of the class's pages no object of it holds.
func (c *sizeClass) unused() uint64 { return c.pageBytes() - min(c.pageBytes(), c.bytes()) }

func (o *occupancy) write(w io.Writer, top int) {
	var all []*sizeClass
	var objects, pages uint64
	for _, c := range o.classes {
		all = append(all, c)
		objects += c.bytes()
		pages += c.pageBytes()
	}
	sort.Slice(all, func(i, j int) bool {
		if a, b := all[i].unused(), all[j].unused(); a != b {
			return a > b
		}
		return all[i].size < all[j].size
	})
	fmt.Fprintf(w, "live objects %.1f MB in %.1f MB of heap pages (%.0f%% full)\n", mb(objects), mb(pages), pct(objects, pages))
	fmt.Fprintf(w, "%8s %10s %10s %10s %6s %10s\n", "size", "objects", "MB", "pages MB", "full", "unused MB")
	for i, c := range all {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%8d %10d %10.1f %10.1f %5.0f%% %10.1f\n", c.size, c.objects, mb(c.bytes()), mb(c.pageBytes()), pct(c.bytes(), c.pageBytes()), mb(c.unused()))
	}
	for _, c := range all {
		if len(c.samples) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nobjects of %d bytes, a sample (first 64 bytes, unprintable as '.'):\n", c.size)
		for _, s := range c.samples {
			fmt.Fprintf(w, "  %#x %q\n", s.Addr, printable(s.Data))
		}
	}
}

func mb(b uint64) float64 { return float64(b) / 1e6 }

func pct(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 32 || c >= 127 {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}
