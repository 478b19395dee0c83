// Test helper: a small XML well-formedness check (balanced tags, quoted attributes) and element
// extraction, enough to verify our generated SVG without a browser or an XML library.

/** Throws unless `xml` is a single well-formed element tree; returns the tag names in order. */
export function checkWellFormed(xml: string): string[] {
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->/g;
  const stack: string[] = [];
  const names: string[] = [];
  let last = 0;
  let roots = 0;
  for (let m = tagRe.exec(xml); m; m = tagRe.exec(xml)) {
    const between = xml.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) throw new Error(`malformed markup near: ${between.slice(0, 60)}`);
    if (/&(?!amp;|lt;|gt;|quot;|#39;|#\d+;)/.test(between)) throw new Error(`unescaped & near: ${between.slice(0, 60)}`);
    last = tagRe.lastIndex;
    if (m[0].startsWith('<!--')) continue;
    const [, closing, name, , selfClosing] = m as unknown as [string, string, string, string, string];
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
      if (stack.length === 0) roots++;
    } else {
      names.push(name);
      if (selfClosing) { if (stack.length === 0) roots++; } else stack.push(name);
    }
  }
  if (xml.slice(last).trim() !== '') throw new Error(`trailing text: ${xml.slice(last, last + 60)}`);
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
  return names;
}

/** Attribute values of every `<tag ...>` element, as records. */
export function elements(xml: string, tag: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  const re = new RegExp(`<${tag}((?:\\s+[\\w:-]+="[^"]*")*)\\s*/?>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1] as string] = a[2] as string;
    out.push(attrs);
  }
  return out;
}
