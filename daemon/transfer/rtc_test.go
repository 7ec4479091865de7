package transfer

import (
	"strings"
	"testing"
)

// TestSDPFingerprint: the fingerprint checked is the one Pion holds DTLS
// to, not merely the first sha-256 anywhere: otherwise a peer could list a
// victim's device ID for the check and its own certificate for DTLS.
func TestSDPFingerprint(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	media := func(mid, fp string) string {
		s := "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\n"
		if fp != "" {
			s += "a=fingerprint:" + fp + "\r\n"
		}
		return s
	}
	tests := []struct {
		name, sdp, want string
	}{
		{"session level first", head + "a=fingerprint:sha-512 aa:bb\r\n" + media("0", "sha-256 CC:DD"), "sha-512 AA:BB"},
		{"first of two at session level", head + "a=fingerprint:sha-1 01:02\r\na=fingerprint:sha-256 CC:DD\r\n" + media("0", ""), "sha-1 01:02"},
		{"the bundled section", head + "a=group:BUNDLE 1 0\r\n" + media("0", "sha-256 0A:0B") + media("1", "SHA-256 1a:1b"), "sha-256 1A:1B"},
		{"first section without bundle", head + media("0", "sha-256 0A:0B") + media("1", "sha-256 1A:1B"), "sha-256 0A:0B"},
		{"none", head + media("0", ""), ""},
		{"bundled section has none", head + "a=group:BUNDLE 1\r\n" + media("0", "sha-256 0A:0B") + media("1", ""), ""},
	}
	for _, tt := range tests {
		fp, err := sdpFingerprint(tt.sdp)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s: got %s; want no usable fingerprint", tt.name, fp)
			}
			continue
		}
		if err != nil || fp.String() != tt.want {
			t.Errorf("%s: got %s, %v; want %s", tt.name, fp, err, tt.want)
		}
	}
	fp, _ := sdpFingerprint(tests[0].sdp)
	if _, err := fp.deviceID(); err == nil || !strings.Contains(err.Error(), "not sha-256") {
		t.Errorf("a sha-512 fingerprint gave a device ID: %v", err)
	}
}
