#pragma once
// Errors are values: a stage returns Expected<T> and the caller must look at it.
// Only cli/main.cpp turns errors into exit codes.
#include <string>
#include <utility>
#include <variant>

namespace treeline {

enum class ErrorCode {
  kIo,          // a path could not be read or written
  kBadInput,    // the input is not what it claims to be (not EVTX, empty, damaged beyond use)
  kDatabase,    // SQLite reported a failure
  kSchema,      // the case DB was made by a newer or foreign schema
  kLocked,      // another process holds the case DB
  kReadOnly,    // the case DB cannot be written
  kUsage,       // the caller asked for something that does not exist
  kStale,       // the process graph does not match the events: rebuild it first
  kInterrupted, // SIGINT or SIGTERM: the current file was rolled back
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Expected<void> has nothing to carry but the error.
struct Ok {};
using Status = Expected<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace treeline
