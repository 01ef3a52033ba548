/** Saves a Blob as a file through a temporary `<a download>` (no server round trip). */

export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started reading the URL; revoking on the next task frees the Blob.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
