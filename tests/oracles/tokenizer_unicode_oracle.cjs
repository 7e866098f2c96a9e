// Prints, for every Unicode scalar value, what Hugging Face tokenizers (Rust, via npm) does
// with it in the BERT front-end: the oracle half of tests/test_tokenizer_codepoints.sh (the
// other half is tests/tools/tok_unicode_dump.c, same line format).
// Usage: node tokenizer_unicode_oracle.cjs OUTFILE
const t = require('tokenizers');
const clean = t.bertNormalizer({cleanText:true, handleChineseChars:false, stripAccents:false, lowercase:false});
const chinese = t.bertNormalizer({cleanText:false, handleChineseChars:true, stripAccents:false, lowercase:false});
const low = t.lowercase();
const nfd = t.nfdNormalizer();
const sa = t.bertNormalizer({cleanText:false, handleChineseChars:false, stripAccents:true, lowercase:false});
const bpt = t.bertPreTokenizer();
const hex = s => Array.from(s).map(c=>c.codePointAt(0).toString(16)).join(',');
const out = [];
for (let cp = 0; cp <= 0x10FFFF; cp++) {
  if (cp >= 0xD800 && cp <= 0xDFFF) continue;
  const ch = String.fromCodePoint(cp);
  const c = clean.normalizeString(ch);
  const cl = c === '' ? 'D' : (c === ' ' && cp !== 0x20 ? 'S' : 'K');
  const ch2 = chinese.normalizeString(ch) !== ch ? 'C' : '-';
  const l = low.normalizeString(ch); const ls = l === ch ? '' : hex(l);
  const d = nfd.normalizeString(ch); const ds = d === ch ? '' : hex(d);
  const m = sa.normalizeString(ch) === '' ? 'M' : '-';
  const pieces = bpt.preTokenizeString('a'+ch+'a').length;
  const p = pieces === 3 ? 'P' : '-';
  const w = pieces === 2 ? 'W' : '-';
  out.push(cp.toString(16)+' '+cl+ch2+m+p+w+' '+ls+' '+ds);
}
require('fs').writeFileSync(process.argv[2], out.join('\n')+'\n');
