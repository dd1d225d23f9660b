/**
 * The one place for the text rules of the ShipStation XML (design doc, section 4 "Response"):
 * free text arrives from carts and marketplaces HTML-escaped, with stray control characters and with
 * no regard for ShipStation's length limits, and must reach the packing slip readable and the XML
 * parser well-formed.
 */
import { DecodingMode, decodeHTML } from 'entities';

/**
 * Everything outside XML 1.0's Char production (C0 controls other than tab, LF and CR, lone
 * surrogates, U+FFFE, U+FFFF), plus DEL and the C1 controls: those are legal XML but are the
 * "control characters" the design doc asks us to strip, and nothing on a packing slip needs them.
 * With the `u` flag a lone surrogate is one code point, so it is matched here and removed.
 */
// eslint-disable-next-line no-control-regex
const NOT_XML_TEXT = /[^\t\n\r\u0020-\u007E\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Removes the characters an XML 1.0 parser refuses (and the other control characters). */
export function stripIllegalXmlChars(value: string): string {
  return value.replace(NOT_XML_TEXT, '');
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Cuts `value` to at most `maxCodePoints` code points (what XSD's maxLength counts). A surrogate
 * pair is one code point, and the cut also falls between user-perceived characters, so an
 * accented letter written as letter + combining mark or an emoji sequence is kept or dropped whole.
 */
export function truncateCodePoints(value: string, maxCodePoints: number): string {
  if ([...value].length <= maxCodePoints) return value;
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(value)) {
    const size = [...segment].length;
    if (used + size > maxCodePoints) break;
    kept += segment;
    used += size;
  }
  return kept;
}

/**
 * Free text as it should reach ShipStation: HTML entities decoded once (`&amp;` becomes `&`, and
 * `&amp;amp;` only `&amp;`), illegal characters stripped, then cut to the limit. Decoding comes first
 * so `&#1;` is stripped and `&amp;` counts as one character; stripping before cutting keeps
 * removed characters from eating the budget.
 *
 * Attribute mode: an entity without its semicolon is only decoded when no letter, digit or `=`
 * follows, so "Tom&notes" stays as written (plain HTML text rules would make it "Tom¬es") and so
 * does the query string of an image URL ("?a=1&copy=2").
 */
export function xmlText(value: string, maxCodePoints?: number): string {
  const clean = stripIllegalXmlChars(decodeHTML(value, DecodingMode.Attribute));
  return maxCodePoints === undefined ? clean : truncateCodePoints(clean, maxCodePoints);
}

/** Wraps text in a CDATA section; a `]]>` inside would end it early, so it is split across two. */
export function cdata(text: string): string {
  return `<![CDATA[${text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text we generate ourselves (numbers, codes, dates) for element content or attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}
