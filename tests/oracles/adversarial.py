"""Adversarial tokenizer inputs, generated in code (no data file).

Each entry is raw bytes: most are UTF-8 text, some are deliberately invalid UTF-8 so both the
C library and the oracle see the same bytes and must agree on the U+FFFD replacement (WHATWG
decoder: one U+FFFD per maximal subpart). The set aims at the places tokenizers usually
diverge: Unicode categories (punctuation, control, whitespace, marks), case folding that
changes length, accent stripping, CJK splitting, WordPiece's 100-char word limit, byte-level
BPE on multi-byte characters, and special-token strings typed by a user.
"""


def _u(s):
    return s.encode("utf-8")


def adversarial_texts():
    """Returns a list of bytes objects (order is stable so failures are reproducible)."""
    t = []
    add = t.append

    # --- empty and whitespace only
    for s in ["", " ", "  ", "\t", "\n", "\r\n", " \t\n\r\x0b\x0c ", "\u00a0", "\u3000",
              "\u2028\u2029", "\u200b", "\ufeff", " " * 1000, "\n" * 300 + "x" + "\t" * 300,
              "a  b   c    d", "  leading", "trailing  ", "   multiple   spaces   here   ",
              "tab\tsep\tvalues", "new\nline\n\nparagraph", "a\u00a0b\u2009c\u202fd\u3000e",
              "a \u3000 b", "x\u0085y", "x\u1680y\u180ez", "x\u2000\u2001\u2002\u200ay"]:
        add(_u(s))

    # --- special-token strings typed by a user (Hugging Face default: matched as added tokens)
    for s in ["[CLS] hi [SEP]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[cls] hi [sep]",
              "x[CLS]y", "[CLS][SEP][MASK]", "the [MASK] is here", "[ MASK ]", "[[MASK]]",
              "[MASK]s", "##ing", "[NAME] said hi to [NAME]", "[RELIGION]",
              "<mask>", " <mask>", "  <mask>", "hello <mask> world", "hello<mask>world",
              "<mask><mask>", "<mask> ", "<s>", "</s>", "<pad>", "<unk>", "<s>hello</s>",
              "<S>", "< mask >", "<mask", "mask>", "<|endoftext|>", "\t<mask>", "\n<mask>",
              "\u00a0<mask>", "[CLS] <mask> </s> [SEP] <s>"]:
        add(_u(s))

    # --- emoji, ZWJ sequences, modifiers, flags, keycaps, variation selectors
    for s in ["😀", "I love it 😍😍😍!", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇫🇷", "1️⃣", "❤️", "❤",
              "♥", "☺️", "🫠", "🧑🏿‍🚀", "a😀b", "😀" * 50, "\u200d", "a\u200db", "\ufe0f",
              "x\U000e0067\U000e0062y"]:
        add(_u(s))

    # --- combining marks, accents, normalisation forms
    for s in ["e\u0301", "Cafe\u0301", "café", "CAFÉ", "naïve", "Ünïcödé", "\u0301", "\u0301abc",
              "A\u030a", "Å", "\u212b", "ñ", "n\u0303", "Z\u0351\u0308\u0324a\u0302\u0353l\u0350g\u0346o",
              "a" + "\u0300" * 50, "Ǆ ǅ ǆ", "ﬁ ﬂ ﬀ ﬃ", "ＡＢＣ１２３！？", "ｈｅｌｌｏ　ｗｏｒｌｄ", "x² ½ ①",
              "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕", "Ⅻ", "\u212a", "µ", "ÿ", "Ÿ", "ŉ", "ǰ", "ΐ", "ﬆ", "ẞ ß Straße",
              "İstanbul", "ıi İI", "ΟΔΟΣ Σίσυφος", "Ωmega", "ǈ", "Ⓐⓑ", "ᾈ", "ﷺ", "ﷻ",
              "\u0130" * 5, "\u1e9e", "ŀ", "ĳ"]:
        add(_u(s))

    # --- scripts: CJK (incl. extension B and compatibility), Hangul, kana, Arabic, Hebrew,
    # Thai, Devanagari, Cyrillic, Greek
    for s in ["日本語のテキスト", "中文测试，标点。", "hello世界", "世界hello", "한국어 텍스트",
              "ｶﾀｶﾅ", "𠀀𠀁", "\uf900\ufa0d", "\u2e80\u2f00\u3400", "\u3007", "㐀", "丂",
              "مرحبا بالعالم", "مَرْحَبًا", "الله", "שלום עולם", "\u200fRTL\u200e",
              "สวัสดีครับ", "नमस्ते दुनिया", "क्षत्रिय", "Привет, мир!", "Ёлка", "Γειά σου Κόσμε",
              "ʻokina", "ᚠᚢᚦ", "ⴰⵣⵓⵍ", "𓀀", "\u0e01\u0e34\u0e4d"]:
        add(_u(s))

    # --- control characters, NUL, replacement char, noncharacters, private use, tags
    for s in ["\x00", "a\x00b", "\x01\x02\x1f", "a\x7fb", "\x1b[31mred\x1b[0m", "\x80", "\u0085",
              "\u00ad", "soft\u00adhyphen", "\ufffd", "a\ufffdb", "\ufffe\uffff", "\U0010ffff",
              "\ue000", "\U000f0000", "\U000e0001", "\u2060", "\u061c", "\u034f", "\u115f",
              "\x0b\x0c", "x\ry", "\u0000" * 5 + "z", "a\u2028b"]:
        add(_u(s))

    # --- invalid UTF-8 (raw bytes): lone continuation, truncated sequences, overlongs,
    # surrogates, out of range, bytes that never appear in UTF-8
    for b in [b"\xff", b"\xfe\xfe\xff\xff", b"\x80", b"\x80\x80\x80", b"abc\x80def", b"\xc0\x80",
              b"\xc1\xbf", b"\xc3", b"\xc3\x28", b"a\xc3", b"\xe2\x82", b"\xe2\x82x",
              b"\xe2\x28\xa1", b"\xf0\x9f\x98", b"\xf0\x9f\x98 ok", b"\xf0\x9f", b"\xe0\x80\xaf",
              b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\x80\xed\xb0\x80",
              b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
              b"\xfc\x84\x80\x80\x80\x80", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
              b"caf\xe9", b"na\xefve", b"\xc2", b"\xc2\xc2\xa0", b"hello \xff world",
              b"\xe6\x97\xa5\xe6\x9c", b"\xe6\x97\xa5\xe6\x9c\xac", b"[CLS]\xff[SEP]",
              b"<mask>\xff", b"\xff<mask>", b"\xef\xbb\xbfBOM", b"\xf0\x9f\x98\x80\x80",
              bytes(range(0x80, 0x100)), bytes(range(0, 0x80))]:
        add(b)

    # --- long words: WordPiece's max_input_chars_per_word (100) counts characters, not bytes
    for s in ["a" * 99, "a" * 100, "a" * 101, "é" * 100, "é" * 101, "e\u0301" * 60,
              "😀" * 100, "😀" * 101, "x" * 99 + "é", "unbelievable" * 8 + "abcd",
              "a" * 10000, "ab" * 5000, "é" * 10000, "😀" * 3000, "日" * 3000,
              "hello" * 2000, ("word " * 2000).strip(), "a" * 10000 + " b", "1" * 10000,
              "!" * 5000, "A" * 100, "İ" * 100, "İ" * 60, "ﬁ" * 60, "ß" * 100]:
        add(_u(s))

    # --- punctuation, digits, contractions (RoBERTa's regex is case-sensitive on 's 't …)
    for s in ["1,000.50", "$$$ €€€ £ ¥", "...", "!!!???", "''", '"quoted"', "don't", "DON'T",
              "I'm we'll they've she's it'd", "I'M WE'LL THEY'VE SHE'S", "'s 'S 't 're 've 'm 'll 'd",
              "rock'n'roll", "a-b_c+d=e", "^`~|\\", "©®™°±§¶•", "‘curly’ “quotes” — dash – …",
              "e-mail@example.com http://x.y/z?q=1&r=2#f", "#hashtag @user", ":-) :( ;P <3",
              "C++ C# .NET", "3.14159 2e10 0x1F", "١٢٣ ٤٥٦", "१२३", "¹²³", "a\u2019s", "¿Qué?",
              "¡Hola!", "«guillemets»", "「括弧」", "x" + "\u3001" * 3, "﹏", "⁇"]:
        add(_u(s))

    # --- mixtures
    for s in ["I feel 😭 so\u00a0sad\u200b today…", "[NAME] is SO annoying!!! 🙄🙄",
              "Ça va? Très bien 😊 ありがとう", "   \t[CLS]\t<mask>\n",
              "e\u0301\u0301\u0301 \u0130\u0307", "a\x00\ufffd\x7f\u200d😀"]:
        add(_u(s))
    return t


def codepoint_sweep_texts(per_text=32):
    """Every code point of planes 0-3 and 14 (surrogates excepted) plus the ends of 15-16,
    each alone in a word "a<c>b" between ASCII letters, `per_text` words per text.

    This pins the Unicode tables: whether a character is removed (control/format), turned
    into a space, split off (punctuation, CJK), stripped (nonspacing mark), lowercased,
    decomposed, or classed as letter/number/other by the byte-level regex. Hugging Face's
    Rust library takes general categories from the `unicode_categories` crate (an old
    Unicode version), not the current one, so a C table generated from a current Unicode
    database differs exactly here.
    """
    cps = [c for c in range(0, 0x40000) if not 0xD800 <= c <= 0xDFFF]
    cps += list(range(0xE0000, 0xE1000)) + [0xF0000, 0xFFFFD, 0xFFFFE, 0xFFFFF, 0x100000,
                                             0x10FFFD, 0x10FFFE, 0x10FFFF]
    out = []
    for i in range(0, len(cps), per_text):
        out.append(" ".join("a" + chr(c) + "b" for c in cps[i:i + per_text]).encode("utf-8", "surrogatepass"))
    return out


if __name__ == "__main__":
    for b in adversarial_texts():
        print(repr(b))
