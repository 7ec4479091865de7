package proto

import (
	"fmt"
	"testing"
)

func TestErrorAndCodeOf(t *testing.T) {
	err := Errorf(CodeTooLarge, "message is %d bytes", 70000)
	if err.Error() != "message is 70000 bytes" {
		t.Errorf("Error() = %q; want only the text", err.Error())
	}
	wrapped := fmt.Errorf("greeting 127.0.0.1:7466: %w", err)
	if got := CodeOf(wrapped); got != CodeTooLarge {
		t.Errorf("CodeOf(wrapped) = %q; want %q", got, CodeTooLarge)
	}
	if got := CodeOf(fmt.Errorf("plain")); got != "" {
		t.Errorf("CodeOf(plain error) = %q; want none", got)
	}
	if got := CodeOf(nil); got != "" {
		t.Errorf("CodeOf(nil) = %q; want none", got)
	}
}
