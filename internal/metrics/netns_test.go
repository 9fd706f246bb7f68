package metrics_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/opsdeck/opsdeck/internal/metrics"
	"github.com/opsdeck/opsdeck/sources/system"
)

// Interface names as the kernel accepts them: any bytes but '/', ':',
// whitespace and NUL. The test creates them in a network namespace of its
// own.
var hostileIfaces = []string{"\xff\x01x", "v\x1b[2J"}

// Finding 6 of issue 12 end to end: interfaces whose names are not UTF-8
// and hold control bytes, created in the kernel, read by the real sampler
// and served on a real listener, keep their series with printable labels.
// This test creates a network namespace (root); inside it, it runs itself
// again to sample and scrape there.
func TestKernelInterfaceNamesNotUTF8(t *testing.T) {
	if os.Getenv("OPSDECK_METRICS_NETNS_CHILD") != "" {
		scrapeInNamespace(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux's: skipped")
	}
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace and interfaces needs root: skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed: skipped")
	}
	const ns = "opsdeck-metrics6"
	exec.Command("ip", "netns", "del", ns).Run()
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"-n", ns, "link", "add", "name", hostileIfaces[0], "type", "veth", "peer", "name", hostileIfaces[1]},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %q: %v: %s", args, err, out)
		}
	}
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestKernelInterfaceNamesNotUTF8$", "-test.v")
	cmd.Env = append(os.Environ(), "OPSDECK_METRICS_NETNS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("sample and scrape in namespace %s: %v\n%s", ns, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "interfaces") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func scrapeInNamespace(t *testing.T) {
	snap, err := system.New().Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range snap.Interfaces {
		names = append(names, i.Name)
	}
	for _, want := range append(hostileIfaces, "lo") {
		if !slices.Contains(names, want) {
			t.Fatalf("sampler found interfaces %q, not %q (errors %v)", names, want, snap.Errors)
		}
	}

	c := metrics.New(nil, nil)
	c.ObserveHost(snap)
	srv, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(c)
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	var labels []string
	for _, m := range mfs["opsdeck_host_network_receive_bytes_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			labels = append(labels, lp.GetValue())
		}
	}
	slices.Sort(labels)
	if want := []string{`\xff\x01x`, "lo", `v\x1b[2J`}; !slices.Equal(labels, want) {
		t.Errorf("interface labels %q, want %q", labels, want)
	}
	if errs := mfs["opsdeck_metrics_errors_total"].GetMetric(); len(errs) != 1 || errs[0].GetCounter().GetValue() != 0 {
		t.Errorf("opsdeck_metrics_errors_total: %v", errs)
	}
	if _, ok := mfs["opsdeck_host_filesystem_used_ratio"]; !ok {
		t.Error("filesystem series missing after the interfaces")
	}
	t.Logf("kernel interfaces %q exported as %q", names, labels)
}
