// The grammar of a source's date format (strftime-style: %Y %y %m %d %H %M %S and literal characters):
// checked when a spec is saved, used by data/text-values.ts to read dates in training and serving.

/** `s` as a literal inside a regular expression. */
export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface DateParser { re: RegExp; fields: string[] }
const dateParsers = new Map<string, DateParser>();

export function dateParser(format: string): DateParser {
  let p = dateParsers.get(format);
  if (p) return p;
  const fields: string[] = [];
  let src = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch === '%' && i + 1 < format.length) {
      const f = format[++i];
      const part = { Y: '(\\d{4})', y: '(\\d{2})', m: '(\\d{1,2})', d: '(\\d{1,2})', H: '(\\d{1,2})', M: '(\\d{2})', S: '(\\d{2})' }[f];
      if (!part) throw new Error(`date format "${format}": %${f} is not supported (use %Y %y %m %d %H %M %S)`);
      fields.push(f);
      src += part;
    } else {
      src += escapeRegExp(ch);
    }
  }
  p = { re: new RegExp(`^${src}$`), fields };
  dateParsers.set(format, p);
  return p;
}

/** Checks a date format once (a spec's): the reason it cannot be used, or null. */
export function dateFormatProblem(format: string): string | null {
  try {
    const { fields } = dateParser(format);
    if (!fields.includes('d') || !fields.includes('m') || !(fields.includes('Y') || fields.includes('y'))) return 'a date format needs %d, %m and %Y (or %y)';
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

