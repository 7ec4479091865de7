package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ferry-dev/ferry/daemon/api"
)

// cmdClean drops what the interrupted incoming transfers hold: their .part
// files and resume state. Their senders can no longer resume them; sending
// the files again starts over.
func cmdClean(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("clean", "", "remove the .part files of interrupted incoming transfers", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	c, err := dialDaemon(*dataDir)
	if err != nil {
		return err
	}
	var out api.Cleaned
	if err := c.Do(ctx, "POST", "/api/clean", struct{}{}, &out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	if len(out.Transfers) == 0 {
		fmt.Fprintln(stdout, "Nothing is held: no incoming transfer is interrupted.")
		return nil
	}
	fmt.Fprintf(stdout, "Removed what %d interrupted transfer(s) held, %s in all:\n", len(out.Transfers), humanBytes(out.Bytes))
	for _, t := range out.Transfers {
		from := ""
		if t.PeerName != "" {
			from = " from " + t.PeerName
		}
		var held string
		switch len(t.Parts) {
		case 0:
			held = "nothing on disk"
		case 1:
			held = fmt.Sprintf("%s (%s)", t.Parts[0], humanBytes(t.Bytes))
		default:
			held = fmt.Sprintf("%d part files (%s): %s", len(t.Parts), humanBytes(t.Bytes), strings.Join(t.Parts, ", "))
		}
		fmt.Fprintf(stdout, "  %s%s: %s\n", t.ID, from, held)
	}
	return nil
}
