#include <openssl/evp.h>

#include <algorithm>

#include "core/regex.hpp"
#include "detect/hunt.hpp"

namespace treeline::detect {

std::optional<std::string> decode_powershell(const std::string& cmd) {
  // Any prefix of -EncodedCommand from -e on, or -ec; PowerShell accepts them all.
  static const Regex kEnc = *Regex::compile(
      R"((?:^|\s)[-/](?:e|ec|en|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|encodedcomm|encodedcomma|encodedcomman|encodedcommand)\s+([A-Za-z0-9+/=]{8,}))",
      {.case_insensitive = true});
  auto m = kEnc.find(cmd);
  if (!m) return std::nullopt;
  std::string b64(m->group1);
  while (b64.size() % 4) b64.push_back('=');
  std::string raw(b64.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t pad = static_cast<size_t>(std::count(b64.end() - 2, b64.end(), '='));
  raw.resize(static_cast<size_t>(n) - std::min(pad, static_cast<size_t>(n)));
  // UTF-16LE to UTF-8 (the BMP is what scripts use; surrogates are passed through as '?').
  std::string out;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) {
    uint32_t c = static_cast<unsigned char>(raw[i]) | (static_cast<unsigned char>(raw[i + 1]) << 8);
    if (c < 0x80) out.push_back(static_cast<char>(c));
    else if (c < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else if (c >= 0xd800 && c < 0xe000) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(0xe0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace treeline::detect
