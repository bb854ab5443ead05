// Errors as values: the hot paths (protocol, storage, auth) return Result<T> instead of throwing.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "core/errc.hpp"

namespace mailport {

struct Error {
  std::error_code code;
  std::string message;  // human-readable detail for logs; never contains secrets

  static Error from_errno(int err, std::string context) {
    return Error{std::error_code(err, std::generic_category()), std::move(context)};
  }
  bool is(errc e) const { return code == make_error_code(e); }
  std::string describe() const {
    return message.empty() ? code.message() : message + ": " + code.message();
  }
};

inline Error make_error(errc e, std::string message = {}) {
  return Error{make_error_code(e), std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace mailport
