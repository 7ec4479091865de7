package transfer

import "strings"

// Placed is one top-level item of an outgoing transfer: its name as sent,
// and the name the receiver saved it under, relative to its downloads
// folder, as its file-ok messages report it. A taken name gets " (1)" on
// the receiver, so As may differ from Name; it is empty until a file of the
// item is verified, and stays empty for an empty folder or for a file
// verified before this daemon restarted.
type Placed struct {
	Name string `json:"name"`
	As   string `json:"as,omitempty"`
	Dir  bool   `json:"dir,omitempty"`
}

// maxPlaced is how many top-level items Info.Saved lists.
const maxPlaced = 20

// countTops counts the top-level entries of a manifest: the files and
// folders the sender picked.
func countTops(entries []Entry) int {
	n := 0
	for _, e := range entries {
		if !strings.Contains(e.Path, "/") {
			n++
		}
	}
	return n
}

// placedItems returns the first maxPlaced top-level entries with the
// names the receiver saved them under: a file's is its file-ok path, a
// folder's the first part of the path of any file in it. finals[i] is the
// path reported for entry i, "" if none.
func placedItems(entries []Entry, finals []string) []Placed {
	var out []Placed
	at := make(map[string]int)
	for i, e := range entries {
		top, _, nested := strings.Cut(e.Path, "/")
		if !nested {
			if len(out) < maxPlaced {
				at[top] = len(out)
				out = append(out, Placed{Name: top, Dir: e.Dir})
			}
		}
		k, ok := at[top]
		if !ok || out[k].As != "" || i >= len(finals) || finals[i] == "" {
			continue
		}
		saved, _, _ := strings.Cut(finals[i], "/")
		out[k].As = saved
	}
	return out
}

// keepPlaced is placedItems for an ended transfer's summary: each name cut
// short, as kept does.
func keepPlaced(p []Placed) []Placed {
	out := make([]Placed, len(p))
	for i, x := range p {
		out[i] = Placed{Name: strings.Clone(clip(x.Name, maxItemBytes)), As: strings.Clone(clip(x.As, maxItemBytes)), Dir: x.Dir}
	}
	return out
}
