/** `text` cut to `max` characters, the cut marked with an ellipsis and no half surrogate pair left. */
export function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1
  return `${text.slice(0, end)}…`
}
