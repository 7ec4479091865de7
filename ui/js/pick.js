// What a person picked or dropped, as the items a transfer sends: {file,
// path}, where path is the file's place under what was chosen ("a.jpg", or
// "Holiday/day 1/a.jpg" for a folder).

/** fromInput lists the files of a file input, with their folders if it picks folders. */
export function fromInput(input) {
  return [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/**
 * fromDrop lists what was dropped, walking into dropped folders where the
 * browser gives entries (webkitGetAsEntry); where it does not, the dropped
 * files alone.
 */
export async function fromDrop(dataTransfer) {
  const entries = [...(dataTransfer.items || [])]
    .filter((it) => it.kind === 'file')
    .map((it) => it.webkitGetAsEntry?.())
    .filter(Boolean);
  if (entries.length === 0) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  for (const e of entries) await walk(e, '', out);
  return out;
}

async function walk(entry, prefix, out) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    out.push({ file: await new Promise((ok, fail) => entry.file(ok, fail)), path });
    return;
  }
  const reader = entry.createReader();
  // readEntries gives a batch at a time, and an empty one at the end.
  for (;;) {
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, path, out);
  }
}
