package system

import (
	"strings"
	"testing"
)

func TestParseCgroup(t *testing.T) {
	id := "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff"
	tests := []struct{ name, in, want string }{
		{"v2 service", "0::/system.slice/nginx.service\n", "nginx.service"},
		{"v2 user service", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service\n", "pipewire.service"},
		{"v2 session scope", "0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope"},
		{"v2 root", "0::/\n", ""},
		{"docker systemd driver", "0::/system.slice/docker-" + id + ".scope\n", "docker:3f2a9c1b7d4e"},
		{"docker cgroupfs v1", "12:pids:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n0::/\n", "docker:3f2a9c1b7d4e"},
		{"containerd in a pod", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8b1f2c3d_4e5f_6789_abcd_ef0123456789.slice/cri-containerd-" + id + ".scope\n", "containerd:3f2a9c1b7d4e"},
		{"pod only", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8b1f2c3d_4e5f.slice\n", "pod:8b1f2c3d"},
		{"pod cgroupfs", "0::/kubepods/burstable/pod8b1f2c3d-4e5f-6789-abcd-ef0123456789\n", "pod:8b1f2c3d"},
		{"crio", "0::/kubepods.slice/crio-" + id + ".scope\n", "crio:3f2a9c1b7d4e"},
		{"podman", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope/container\n", "podman:3f2a9c1b7d4e"},
		{"lxc", "0::/lxc.payload.web1/system.slice/nginx.service\n", "lxc:web1"},
		{"v1 name=systemd", "4:memory:/\n1:name=systemd:/system.slice/cron.service\n", "cron.service"},
		{"v1 other only", "4:memory:/process_api/ab4883bd843137e09f87f69b48b0dd69\n0::/\n", "ab4883bd843137e09f87f69b48b0dd69"},
		{"path with colons", "0::/system.slice/a:b.service\n", "a:b.service"},
		{"garbage", "not a cgroup file\n\x00\x1b[2J", ""},
		{"empty", "", ""},
		{"huge name", "0::/system.slice/" + strings.Repeat("x", 300) + ".service\n", strings.Repeat("x", maxUnitLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseCgroup([]byte(tt.in)); got != tt.want {
				t.Errorf("parseCgroup = %q, want %q", got, tt.want)
			}
		})
	}
	if got := parseCgroup(fixture(t, "real/cgroup")); got != "" {
		t.Errorf("real cgroup (root in every hierarchy but memory) = %q", got)
	}
}

func FuzzParseCgroup(f *testing.F) {
	seed(f)
	f.Add([]byte("0::/system.slice/docker-abc.scope\n"))
	f.Add([]byte("0::/kubepods-pod\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if u := parseCgroup(b); len(u) > maxUnitLen+len("containerd:") {
			t.Fatalf("unit of %d bytes", len(u))
		}
	})
}
