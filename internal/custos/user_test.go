package custos

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCheckNetworks(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
		ok   bool
	}{
		{"v4 prefix", []string{"192.0.2.7/24"}, []string{"192.0.2.0/24"}, true},
		{"v4 address", []string{"192.0.2.7"}, []string{"192.0.2.7/32"}, true},
		{"v6", []string{"2001:db8::1/48", "2001:db8::5"}, []string{"2001:db8::/48", "2001:db8::5/128"}, true},
		{"mapped address", []string{"::ffff:192.0.2.7"}, []string{"192.0.2.7/32"}, true},
		{"bad bits", []string{"192.0.2.0/33"}, nil, false},
		{"name", []string{"example.com"}, nil, false},
		{"empty", []string{""}, nil, false},
		{"too many", strings.Split(strings.Repeat("10.0.0.1,", MaxNetworks+1), ",")[:MaxNetworks+1], nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNetworks("allowed_ips", tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if err != nil && AsError(err).Field != "allowed_ips" {
				t.Errorf("field %q", AsError(err).Field)
			}
			if tc.ok && strings.Join(tc.in, ",") != strings.Join(tc.want, ",") {
				t.Errorf("canonical %v, want %v", tc.in, tc.want)
			}
		})
	}
}

func TestNetworksAllow(t *testing.T) {
	nets := []string{"192.0.2.0/24", "2001:db8::/32"}
	for _, tc := range []struct {
		ip   string
		want bool
	}{{"192.0.2.9", true}, {"::ffff:192.0.2.9", true}, {"192.0.3.1", false}, {"2001:db8:1::1", true}, {"2001:db9::1", false}} {
		if got := NetworksAllow(nets, netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s: %v", tc.ip, got)
		}
	}
	if NetworksAllow(nets, netip.Addr{}) || !NetworksAllow(nil, netip.Addr{}) {
		t.Error("no address: refused by a list, allowed without one")
	}
}

func TestSecuritySettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     SecuritySettings
		field string
	}{
		{"defaults", DefaultSecuritySettings(), ""},
		{"idle too short", SecuritySettings{IdleTimeoutMinutes: 4, Require2FA: "none"}, "idle_timeout_minutes"},
		{"idle too long", SecuritySettings{IdleTimeoutMinutes: 721, Require2FA: "none"}, "idle_timeout_minutes"},
		{"unknown 2fa", SecuritySettings{IdleTimeoutMinutes: 30, Require2FA: "some"}, "require_2fa"},
		{"bad network", SecuritySettings{IdleTimeoutMinutes: 30, Require2FA: "all", AllowedIPs: []string{"x"}}, "allowed_ips"},
		{"expiry too short", SecuritySettings{IdleTimeoutMinutes: 30, Require2FA: "none", PasswordMaxAgeDays: 7}, "password_max_age_days"},
		{"expiry ok", SecuritySettings{IdleTimeoutMinutes: 30, Require2FA: "none", PasswordMaxAgeDays: 90}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.field == "" && err != nil || tc.field != "" && (err == nil || AsError(err).Field != tc.field) {
				t.Fatalf("err %v, want field %q", err, tc.field)
			}
		})
	}
	s := SecuritySettings{Require2FA: Require2FAAdmins}
	if !s.Requires2FA(RoleAdmin) || s.Requires2FA(RoleDPO) {
		t.Error("admins only")
	}
}

func TestCheckPasswordLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		ok   bool
	}{
		{"11", strings.Repeat("a", 11), false},
		{"12 multibyte", strings.Repeat("ż", 12), true},
		{"128", strings.Repeat("a", 128), true},
		{"129", strings.Repeat("a", 129), false},
		{"invalid UTF-8", strings.Repeat("a", 12) + "\xff", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckPasswordLength("password", tc.pw); (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
		})
	}
}
