// The upstream frontend's search, as the server matches it (leaderboard/search.py), so that the
// page shows the rows GET /api/v1/models/?search= gives for the same text.
//
// `;` separates alternatives; in one, every `@field:value` part must be a case-insensitive
// substring of that field (an unknown field matches nothing), and the remaining text matches the
// lowercased name: as a case-insensitive regular expression when it has regex characters and RE2
// (the server's engine) accepts it, else as a substring. Patterns RE2 refuses (backreferences,
// lookarounds, unknown escapes, counts over 1,000) are substrings here too, whatever JavaScript
// would make of them; RE2-only spellings (`(?P<name>`, `(?i)`, `\A`, `\z`) are translated.

const PREFIX = /@[A-Za-z0-9_]+:/g;
const LOOKS_LIKE_REGEX = /[\\^$.*+?()[\]{}|]/;
const MAX_PATTERN = 256; // code points; a longer text is a substring (as on the server)
const RE2_ESCAPES = new Set("aftnrvxdDsSwWbBAzpPQEC");
const RE2_MAX_REPEAT = 1000;
const POSIX_CLASSES = {
  alnum: "0-9A-Za-z", alpha: "A-Za-z", ascii: "\\x00-\\x7f", blank: "\\t ", cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9", graph: "!-~", lower: "a-z", print: " -~", punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ", upper: "A-Z", word: "0-9A-Za-z_", xdigit: "0-9A-Fa-f",
}; // RE2's [[:name:]] inside a class, as JavaScript ranges

/** The searchable fields: the row property each @field reads (lowercased, or null). */
export const FIELDS = { precision: "lprecision", architecture: "larch", license: "llicense", type: "ltype" };

function escapeRegExp(text) {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

export function parseAlternative(query) {
  const fields = [];
  let remaining = query;
  for (const prefix of query.match(PREFIX) || []) {
    const part = new RegExp(escapeRegExp(prefix) + "([^\\s@]+)", "g");
    remaining = remaining.replace(part, (match, value) => {
      fields.push([prefix.slice(1, -1), value]);
      return "";
    });
  }
  return { fields, text: remaining.trim() };
}

export function parse(search) {
  return search.split(";").map((part) => part.trim()).filter(Boolean).map(parseAlternative);
}

/** The pattern as JavaScript should run it, or null where RE2 would refuse it. */
export function re2ToJs(pattern) {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) return null; // a trailing backslash
      if (/[1-7]/.test(next) && !/[0-7]/.test(pattern[i + 2] || "")) return null; // a backreference
      if (next === "8" || next === "9") return null;
      if (/[A-Za-z]/.test(next) && !RE2_ESCAPES.has(next)) return null;
      if (!inClass && next === "A") { out += "^"; i++; continue; }
      if (!inClass && next === "z") { out += "$"; i++; continue; }
      if (next === "Q") { // \Q...\E: literal text
        const end = pattern.indexOf("\\E", i + 2);
        const literal = pattern.slice(i + 2, end === -1 ? undefined : end);
        out += inClass ? literal.replace(/[\\\]^-]/g, "\\$&") : escapeRegExp(literal);
        i = end === -1 ? pattern.length : end + 1;
        continue;
      }
      out += c + next;
      i++;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
      if (posix) {
        if (posix[1] || !POSIX_CLASSES[posix[2]]) return null; // negated or unknown: left alone
        out += POSIX_CLASSES[posix[2]];
        i += posix[0].length - 1;
        continue;
      }
      if (c === "]") inClass = false;
      out += c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      if (pattern[i + 1] === "^") { out += "^"; i++; }
      if (pattern[i + 1] === "]") { out += "\\]"; i++; } // a leading ] is literal in RE2
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i + 2);
      if (/^(=|!|<=|<!)/.test(rest) || rest.startsWith("P=")) return null; // lookarounds
      if (rest.startsWith("P<")) { out += "(?<"; i += 3; continue; }
      const flags = /^([imsU-]+)(\)|:)/.exec(rest);
      if (flags) {
        if (/[msU]/.test(flags[1])) return null; // not the same in JavaScript: leave it alone
        if (flags[2] === ")") { i += 1 + flags[0].length; continue; } // (?i): always on here
        out += "(?:";
        i += 1 + flags[0].length;
        continue;
      }
    }
    if (c === "{") {
      const count = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (count && (Number(count[1]) > RE2_MAX_REPEAT || Number(count[3] || 0) > RE2_MAX_REPEAT)) return null;
    }
    out += c;
  }
  return out;
}

function compile(pattern) {
  const translated = re2ToJs(pattern);
  if (translated === null) return null;
  try {
    return new RegExp(translated, "i");
  } catch (e) {
    return null; // neither engine takes it: a substring
  }
}

export function nameMatcher(text) {
  const needle = text.toLowerCase();
  if ([...text].length <= MAX_PATTERN && LOOKS_LIKE_REGEX.test(text)) {
    const regex = compile(text);
    if (regex) return (name) => regex.test(name);
  }
  return (name) => name.includes(needle);
}

/** A predicate over prepared rows (with lname and the FIELDS properties), or null for no search. */
export function matcher(search) {
  const alternatives = parse(search);
  if (!alternatives.length) return null;
  const tests = alternatives.map(({ fields, text }) => {
    const checks = [];
    for (const [field, value] of fields) {
      const property = FIELDS[field];
      if (!Object.prototype.hasOwnProperty.call(FIELDS, field)) return () => false;
      const wanted = value.toLowerCase();
      checks.push((row) => row[property] !== null && row[property].includes(wanted));
    }
    const name = text ? nameMatcher(text) : null;
    return (row) => checks.every((check) => check(row)) && (name === null || name(row.lname));
  });
  return (row) => tests.some((test) => test(row));
}
