/**
 * In-place ascending insertion sort of a[0..n). Quorum math sorts one number per voter (3–7) on
 * every acknowledgement; Array.prototype.sort allocates a work copy and calls a comparator per
 * step, which made it the leader's largest source of garbage per append.
 */
export function sortSmallAscending(a: number[], n: number = a.length): void {
  for (let i = 1; i < n; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}
