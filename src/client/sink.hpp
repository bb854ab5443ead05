// Where `mailport fetch` puts messages: a Maildir, an mbox file or an MDA command. A sink says a
// message is delivered only once it is safe: fsync'ed to disk, or accepted by the MDA with exit
// status 0. Only then may the message be deleted on the server.
//
// A run can stop at any instruction (SIGKILL, power loss). Before writing anything a sink hands
// its caller a token naming the attempt (`reserve`), which the caller records durably. On the
// next run, a message whose UIDL still has a token is offered to the sink again with it, and the
// sink finds out whether that attempt completed: Maildir looks for the file name, mbox compares
// the bytes at the recorded offset. An MDA cannot be asked, so that message is piped again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::client {

struct Message {
  std::string_view uidl;
  std::string_view account;  // "user@host:port", for the MDA's environment
  std::string_view content;  // LF line ends
};

enum class DeliveryOutcome { delivered, already_delivered };

using ReserveFn = std::function<Result<void>(std::string_view token)>;

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string describe() const = 0;
  // False when an interrupted attempt cannot be checked (MDA): it is then simply repeated.
  virtual bool detects_previous() const = 0;
  // `previous`: the token of an earlier attempt for this UIDL that was never confirmed.
  virtual Result<DeliveryOutcome> deliver(const Message& message, const std::string* previous,
                                          const ReserveFn& reserve) = 0;
};

// Maildir: tmp/ + fsync + link into new/ + fsync of new/. Created (0700) if missing.
std::unique_ptr<Sink> make_maildir_sink(std::filesystem::path dir);
// mbox (mboxrd quoting), appended under an fcntl (open file description) write lock, fsync'ed.
std::unique_ptr<Sink> make_mbox_sink(std::filesystem::path file);
// `/bin/sh -c command` with the message on standard input. MAILPORT_UIDL and MAILPORT_ACCOUNT
// are set so that an MDA can recognise a message it has seen before.
std::unique_ptr<Sink> make_mda_sink(std::string command);

// --- mbox format pieces, exposed for tests ---

// "From SENDER DATE\n" + the message with ">From " quoting (mboxrd) + a final blank line,
// preceded by `separator` (the newlines the file needs so that the entry starts a paragraph).
std::string mbox_entry(std::string_view content, std::int64_t when, std::string_view separator);
// The envelope sender for the From_ line: the Return-Path address, else MAILER-DAEMON.
std::string mbox_sender(std::string_view content);
// What must precede a new entry after `tail`, the last (up to two) bytes of the file.
std::string_view mbox_separator(std::string_view tail);

}  // namespace mailport::client
