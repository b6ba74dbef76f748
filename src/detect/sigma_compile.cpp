// Sigma values compiled: wildcards parsed as pySigma reads them, the encoding modifiers applied in
// the order written, then the cheapest matcher that is exact (literal compare where it can, RE2
// where wildcards sit inside or windash marks a dash).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "core/text.hpp"
#include "detect/sigma_text.hpp"
#include "detect/sigma_value.hpp"

namespace treeline::detect::sigma {

bool parse_ip(std::string_view s, std::array<uint8_t, 16>& out) {
  std::string z(s);
  in_addr v4{};
  if (inet_pton(AF_INET, z.c_str(), &v4) == 1) {
    out.fill(0);
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, z.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return true;
  }
  return false;
}

std::optional<double> parse_number(std::string_view s) {
  std::string z(trim(s));
  if (z.empty()) return std::nullopt;
  char* end = nullptr;
  double v;
  if (z.size() > 2 && z[0] == '0' && (z[1] == 'x' || z[1] == 'X')) v = static_cast<double>(std::strtoull(z.c_str(), &end, 16));
  else v = std::strtod(z.c_str(), &end);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return v;
}

namespace {

// A Sigma string: literal bytes and wildcards. kDash is a windash position: any of - / – — ―.
struct Tok {
  enum Kind : uint8_t { kChar, kStar, kQmark, kDash } kind;
  char c = 0;
};
using Pattern = std::vector<Tok>;

// pySigma's reading: a backslash escapes `*`, `?` and itself; before anything else it is literal.
Pattern parse_wildcards(std::string_view s) {
  Pattern p;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
      p.push_back({Tok::kChar, s[++i]});
    } else if (c == '*') {
      p.push_back({Tok::kStar});
    } else if (c == '?') {
      p.push_back({Tok::kQmark});
    } else {
      p.push_back({Tok::kChar, c});
    }
  }
  return p;
}

bool has_wildcards(const Pattern& p) {
  return std::any_of(p.begin(), p.end(), [](const Tok& t) { return t.kind != Tok::kChar; });
}

std::string bytes_of(const Pattern& p) {
  std::string out;
  for (const auto& t : p) out += t.c;
  return out;
}

Pattern literal(std::string_view s) {
  Pattern p;
  for (char c : s) p.push_back({Tok::kChar, c});
  return p;
}

// UTF-8 text as UTF-16 code units, little- or big-endian bytes. Invalid UTF-8 bytes pass as
// themselves (Latin-1), as Windows would have stored a byte it could not decode.
std::string utf16(std::string_view s, bool big_endian) {
  std::string out;
  auto unit = [&](uint16_t u) {
    char lo = static_cast<char>(u & 0xff), hi = static_cast<char>(u >> 8);
    out += big_endian ? hi : lo;
    out += big_endian ? lo : hi;
  };
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    uint32_t cp = b;
    size_t len = 1;
    if (b >= 0xf0) len = 4, cp = b & 0x07;
    else if (b >= 0xe0) len = 3, cp = b & 0x0f;
    else if (b >= 0xc0) len = 2, cp = b & 0x1f;
    if (len > 1) {
      bool ok = i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k) {
        auto cb = static_cast<uint8_t>(s[i + k]);
        if ((cb & 0xc0) != 0x80) ok = false;
        else cp = (cp << 6) | (cb & 0x3f);
      }
      if (!ok) cp = b, len = 1;
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(static_cast<uint16_t>(0xd800 + (cp >> 10)));
      unit(static_cast<uint16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      unit(static_cast<uint16_t>(cp));
    }
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// pySigma's base64offset: the value after 0, 1 or 2 bytes of padding, encoded, with the characters
// that depend on the bytes around it cut off.
std::vector<std::string> base64_offsets(std::string_view bytes) {
  static constexpr size_t kStart[] = {0, 2, 3};
  static constexpr int kEndCut[] = {0, 3, 2};  // characters cut from the end, by (size + shift) % 3
  std::vector<std::string> out;
  for (size_t shift = 0; shift < 3; ++shift) {
    std::string enc = base64(std::string(shift, ' ') + std::string(bytes));
    size_t cut = static_cast<size_t>(kEndCut[(bytes.size() + shift) % 3]);
    size_t end = enc.size() >= cut ? enc.size() - cut : 0;
    out.push_back(kStart[shift] < end ? enc.substr(kStart[shift], end - kStart[shift]) : std::string());
  }
  return out;
}

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// pySigma's windash: a - or / that starts a word after a non-word character (`\B[-/]\b`).
void mark_windash(Pattern& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i].kind != Tok::kChar || (p[i].c != '-' && p[i].c != '/')) continue;
    bool before_ok = i == 0 || (p[i - 1].kind == Tok::kChar && !is_word(p[i - 1].c));
    bool after_ok = i + 1 < p.size() && p[i + 1].kind == Tok::kChar && is_word(p[i + 1].c);
    if (before_ok && after_ok) p[i].kind = Tok::kDash;
  }
}

Expected<ValueMatcher> simplify(Pattern p, bool cased) {
  ValueMatcher m;
  m.cased = cased;
  bool lead = !p.empty() && p.front().kind == Tok::kStar;
  bool trail = p.size() > (lead ? 1u : 0u) && p.back().kind == Tok::kStar;
  size_t first = lead ? 1 : 0, last = p.size() - (trail ? 1 : 0);
  bool inner_wild = false;
  for (size_t i = first; i < last; ++i) inner_wild |= p[i].kind != Tok::kChar;
  if (!inner_wild) {
    std::string text;
    for (size_t i = first; i < last; ++i) text += p[i].c;
    m.text = cased ? text : to_lower_ascii(text);
    m.kind = lead && trail ? ValueMatcher::Kind::kContains
             : lead        ? ValueMatcher::Kind::kSuffix
             : trail       ? ValueMatcher::Kind::kPrefix
                           : ValueMatcher::Kind::kExact;
    return m;
  }
  std::string re = "^";
  std::string run;
  auto flush = [&] {
    if (!run.empty()) re += RE2::QuoteMeta(run);
    run.clear();
  };
  for (const auto& t : p) {
    if (t.kind == Tok::kChar) {
      run += t.c;
      continue;
    }
    flush();
    re += t.kind == Tok::kStar ? ".*" : t.kind == Tok::kQmark ? "." : "(?:-|/|\u2013|\u2014|\u2015)";
  }
  flush();
  re += "$";
  auto compiled = Regex::compile(re, {.case_insensitive = !cased, .dot_all = true});
  if (!compiled) return compiled.error();
  m.kind = ValueMatcher::Kind::kRegex;
  m.text = re;
  m.regex = std::move(*compiled);
  return m;
}

struct Modifiers {
  enum class Anchor { kNone, kContains, kStart, kEnd } anchor = Anchor::kNone;
  bool all = false, cased = false, re = false, re_i = false, re_m = false, re_s = false, cidr = false,
       exists = false, fieldref = false, expand = false;
  std::optional<ValueMatcher::Kind> compare;
  std::vector<std::string> encodings;  // utf16le, utf16be, utf16, base64, base64offset, windash, in order
};

Expected<Modifiers> parse_modifiers(const std::vector<std::string_view>& names) {
  Modifiers m;
  using K = ValueMatcher::Kind;
  for (std::string_view n : names) {
    if (n == "contains") m.anchor = Modifiers::Anchor::kContains;
    else if (n == "startswith") m.anchor = Modifiers::Anchor::kStart;
    else if (n == "endswith") m.anchor = Modifiers::Anchor::kEnd;
    else if (n == "all") m.all = true;
    else if (n == "cased") m.cased = true;
    else if (n == "re") m.re = true;
    else if (n == "i" || n == "m" || n == "s") {
      if (!m.re) return Error{ErrorCode::kBadInput, fmt::format("modifier |{} comes after |re only", n)};
      (n == "i" ? m.re_i : n == "m" ? m.re_m : m.re_s) = true;
    } else if (n == "cidr") m.cidr = true;
    else if (n == "exists") m.exists = true;
    else if (n == "fieldref") m.fieldref = true;
    else if (n == "expand") m.expand = true;
    else if (n == "lt") m.compare = K::kLess;
    else if (n == "lte") m.compare = K::kLessEqual;
    else if (n == "gt") m.compare = K::kGreater;
    else if (n == "gte") m.compare = K::kGreaterEqual;
    else if (n == "wide" || n == "utf16le") m.encodings.emplace_back("utf16le");
    else if (n == "utf16be" || n == "utf16" || n == "base64" || n == "base64offset" || n == "windash")
      m.encodings.emplace_back(n);
    else return Error{ErrorCode::kBadInput, fmt::format("unknown modifier |{}", n)};
  }
  int kinds = int{m.re} + int{m.cidr} + int{m.exists} + int{m.fieldref} + int{m.compare.has_value()};
  if (kinds > 1 || (kinds == 1 && (!m.encodings.empty() || m.anchor != Modifiers::Anchor::kNone)))
    return Error{ErrorCode::kBadInput, "modifiers |re, |cidr, |exists, |fieldref and |lt/|gt take no other "
                                       "value modifier"};
  return m;
}

// One string value through the encodings, then the anchor: the patterns it stands for.
Expected<std::vector<Pattern>> expand_value(const std::string& text, const Modifiers& mods) {
  std::vector<Pattern> out{parse_wildcards(text)};
  for (const auto& enc : mods.encodings) {
    if (enc == "windash") {
      for (auto& p : out) mark_windash(p);
      continue;
    }
    std::vector<Pattern> next;
    for (const auto& p : out) {
      if (has_wildcards(p))
        return Error{ErrorCode::kBadInput, fmt::format("|{} cannot encode a value with wildcards: '{}'", enc, text)};
      std::string bytes = bytes_of(p);
      if (enc == "utf16le") next.push_back(literal(utf16(bytes, false)));
      else if (enc == "utf16be") next.push_back(literal(utf16(bytes, true)));
      else if (enc == "utf16") next.push_back(literal("\xff\xfe" + utf16(bytes, false)));
      else if (enc == "base64") next.push_back(literal(base64(bytes)));
      else
        for (auto& v : base64_offsets(bytes)) next.push_back(literal(v));
    }
    out = std::move(next);
  }
  for (auto& p : out) {
    using A = Modifiers::Anchor;
    if (mods.anchor == A::kContains || mods.anchor == A::kEnd) p.insert(p.begin(), Tok{Tok::kStar});
    if (mods.anchor == A::kContains || mods.anchor == A::kStart) p.push_back(Tok{Tok::kStar});
  }
  return out;
}

Expected<ValueMatcher> special_value(const std::string& text, const Modifiers& mods) {
  using K = ValueMatcher::Kind;
  ValueMatcher m;
  m.cased = mods.cased;
  if (mods.exists) {
    std::string t = to_lower_ascii(text);
    if (t != "true" && t != "false") return Error{ErrorCode::kBadInput, "|exists takes true or false"};
    m.kind = t == "true" ? K::kExists : K::kNotExists;
  } else if (mods.fieldref) {
    m.kind = K::kFieldRef;
    m.text = text;
  } else if (mods.compare) {
    auto n = parse_number(text);
    if (!n) return Error{ErrorCode::kBadInput, fmt::format("|lt, |lte, |gt and |gte take a number, not '{}'", text)};
    m.kind = *mods.compare;
    m.number = *n;
  } else if (mods.cidr) {
    auto slash = text.find('/');
    std::string addr = text.substr(0, slash);
    if (!parse_ip(addr, m.net)) return Error{ErrorCode::kBadInput, fmt::format("|cidr: '{}' is not a network", text)};
    bool v4 = addr.find(':') == std::string::npos;
    int max = v4 ? 32 : 128;
    int bits = max;
    if (slash != std::string::npos) {
      auto b = parse_number(text.substr(slash + 1));
      if (!b || *b < 0 || *b > max) return Error{ErrorCode::kBadInput, fmt::format("|cidr: bad prefix in '{}'", text)};
      bits = static_cast<int>(*b);
    }
    m.prefix_bits = v4 ? bits + 96 : bits;
    m.kind = K::kCidr;
    m.text = text;
  } else {  // re
    auto re = Regex::compile(text, {.case_insensitive = mods.re_i, .multi_line = mods.re_m, .dot_all = mods.re_s});
    if (!re) return re.error();
    m.kind = K::kRegex;
    m.text = text;
    m.regex = std::move(*re);
  }
  return m;
}

}  // namespace

Expected<FieldCondition> compile_condition(std::string_view key, const std::vector<RawValue>& values, bool keyword) {
  FieldCondition fc;
  std::vector<std::string_view> names;
  size_t bar = key.find('|');
  fc.field = std::string(keyword ? std::string_view() : key.substr(0, bar));
  while (bar != std::string_view::npos) {
    size_t next = key.find('|', bar + 1);
    names.push_back(key.substr(bar + 1, next == std::string_view::npos ? std::string_view::npos : next - bar - 1));
    bar = next;
  }
  auto mods = parse_modifiers(names);
  if (!mods) return mods.error();
  fc.all = mods->all;
  if (values.empty()) return Error{ErrorCode::kBadInput, "an empty list of values"};
  for (const auto& raw : values) {
    if (!raw.text) {
      ValueMatcher m;
      m.kind = ValueMatcher::Kind::kNull;
      fc.values.push_back({std::move(m)});
      continue;
    }
    if (mods->expand) {
      auto open = raw.text->find('%');
      auto close = open == std::string::npos ? open : raw.text->find('%', open + 1);
      if (close != std::string::npos)
        return Error{ErrorCode::kBadInput, fmt::format("placeholder {} has no value (|expand)",
                                                       raw.text->substr(open, close - open + 1))};
    }
    if (mods->re || mods->cidr || mods->exists || mods->fieldref || mods->compare) {
      auto m = special_value(*raw.text, *mods);
      if (!m) return m.error();
      fc.values.push_back({std::move(*m)});
      continue;
    }
    auto patterns = expand_value(*raw.text, *mods);
    if (!patterns) return patterns.error();
    std::vector<ValueMatcher> variants;
    for (auto& p : *patterns) {
      auto m = simplify(std::move(p), mods->cased);
      if (!m) return m.error();
      variants.push_back(std::move(*m));
    }
    fc.values.push_back(std::move(variants));
  }
  if (keyword)
    // A keyword is found anywhere in a value, as every Sigma backend searches full text.
    for (auto& group : fc.values)
      for (auto& m : group)
        if (m.kind == ValueMatcher::Kind::kExact) m.kind = ValueMatcher::Kind::kContains;
  return fc;
}

}  // namespace treeline::detect::sigma
