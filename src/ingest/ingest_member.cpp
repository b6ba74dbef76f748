#include <fmt/format.h>

#include <optional>
#include <streambuf>
#include <vector>

#include "ingest/archive.hpp"
#include "ingest/ingester.hpp"
#include "ingest/inputs.hpp"
#include "ingest/json_reader.hpp"
#include "ingest/sha256.hpp"
#include "ingest/xml_reader.hpp"

// Archive members: small ones are read into memory (hashed first, and read as a file is), larger
// ones stream through the readers in bounded memory, hashed on the way.
namespace treeline::ingest {

namespace {

// An istream over a streamed member, for the JSON and XML readers.
class StreamBuf : public std::streambuf {
 public:
  explicit StreamBuf(const StreamFn& fn) : fn_(fn), buf_(1 << 16) {}
  std::optional<Error> error;  // the stream broke: the records after it are lost

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    auto n = fn_(reinterpret_cast<uint8_t*>(buf_.data()), buf_.size());
    if (!n) error = n.error();
    if (!n || *n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + *n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  const StreamFn& fn_;
  std::vector<char> buf_;
};

}  // namespace

Status Ingester::ingest_member(const std::string& container, Member& member, IngestReport& total, Progress& progress,
                               const ProgressFn& progress_fn) {
  FileReport rep;
  rep.path = container + "!" + member.name();
  std::string bytes;
  bool whole = false;
  // A damaged member: what came before the damage is read like the rest of a stream.
  std::optional<Error> broken;
  // Reads the member on until `bytes` holds `upto` bytes or the member ends.
  auto pull = [&](size_t upto) {
    std::vector<char> buf(1 << 16);
    while (!whole && !broken && bytes.size() < upto) {
      auto n = member.read(buf.data(), std::min(buf.size(), upto - bytes.size()));
      if (!n) broken = n.error();
      else if (*n == 0) whole = true;
      else bytes.append(buf.data(), *n);
    }
  };
  pull(4096);
  if (broken && bytes.empty()) return *broken;
  Kind kind = sniff(std::string_view(bytes).substr(0, 4096));
  if (kind == Kind::kUnknown) {
    // A README or a screenshot inside a collection is not evidence of events: counted, not failed.
    ++total.ignored_files;
    return ok_status();
  }
  // Small members are held in memory, where they are hashed first and, in auto, can go to
  // libevtx; larger ones stream (--reader libevtx needs them whole all the same).
  const size_t limit = options_.member_memory_limit;
  bool fits = !member.size() || *member.size() <= limit;
  if (fits || (kind == Kind::kEvtx && options_.reader == ReaderChoice::kLibevtx))
    pull(options_.reader == ReaderChoice::kLibevtx ? SIZE_MAX : limit + 1);
  store::SourceInfo info;
  info.path = rep.path;
  info.format = kind_name(kind);
  info.reader = kind == Kind::kEvtx ? "libevtx" : info.format;
  info.container = container;
  info.member = member.name();
  pending_size_.reset();
  if (whole) {
    info.size = static_cast<int64_t>(bytes.size());
    auto sha = sha256_bytes(bytes);
    if (!sha) return sha.error();
    info.sha256 = std::move(*sha);
    if (kind == Kind::kEvtx) {
      if (auto s = ingest_evtx(info, &bytes, nullptr, rep, total, progress, progress_fn); !s) return s;
      total.files.push_back(std::move(rep));
      return ok_status();
    }
    Reader read = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
      std::istringstream in(bytes);
      return kind == Kind::kJson ? read_json(in, on_record, on_issue) : read_xml(in, on_record, on_issue);
    };
    if (auto s = ingest_source(info, read, rep, total, progress, progress_fn); !s) return s;
    total.files.push_back(std::move(rep));
    return ok_status();
  }

  // Streamed: the bytes pulled so far, then the rest of the member, hashed on the way. The
  // hash and size are stored when the member ends (a copy already in the case is then rolled
  // back, as for a plain file hashed while read).
  info.size = static_cast<int64_t>(member.size().value_or(0));
  auto hasher = Sha256::create();
  if (!hasher) return hasher.error();
  Sha256& sha = *hasher;
  sha.update(bytes.data(), bytes.size());
  size_t prefix = 0;
  StreamFn stream = [&](uint8_t* buf, size_t n) -> Expected<size_t> {
    if (prefix < bytes.size()) {
      size_t k = std::min(n, bytes.size() - prefix);
      std::memcpy(buf, bytes.data() + prefix, k);
      prefix += k;
      return k;
    }
    if (broken) return *broken;
    auto got = member.read(reinterpret_cast<char*>(buf), n);
    if (!got) broken = got.error();
    else sha.update(buf, *got);
    return got;
  };
  std::promise<Expected<std::string>> hashed;
  pending_sha256_ = hashed.get_future().share();
  // Whatever the reader left unread is hashed too, so the hash is the whole member's. (Of a
  // damaged member, it is the hash of the bytes that could be read; the damage is reported.)
  auto finish_hash = [&]() {
    std::vector<uint8_t> rest(1 << 16);
    for (;;) {
      auto got = stream(rest.data(), rest.size());
      if (!got || *got == 0) break;
    }
    pending_size_ = static_cast<int64_t>(member.offset());
    hashed.set_value(sha.hex());
  };
  Reader read = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
    StreamBuf buf(stream);
    std::istream in(&buf);
    auto stats = kind == Kind::kJson ? read_json(in, on_record, on_issue) : read_xml(in, on_record, on_issue);
    finish_hash();
    if (stats && buf.error) {
      stats->corrupted = true;
      auto s = on_issue({fmt::format("byte {}", member.offset()),
                         fmt::format("{}; the records after it are lost", buf.error->message), true});
      if (!s) return s.error();
    }
    return stats;
  };
  StreamedInput streamed{stream, finish_hash};
  Status s = kind == Kind::kEvtx ? ingest_evtx(info, nullptr, &streamed, rep, total, progress, progress_fn)
                                 : ingest_source(info, read, rep, total, progress, progress_fn);
  pending_size_.reset();
  if (!s) return s;
  total.files.push_back(std::move(rep));
  return ok_status();
}

}  // namespace treeline::ingest
