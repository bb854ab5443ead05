// `mailport man`: the manual page (roff) generated from the CLI11 tree that --help prints, so the
// two always agree. The build runs it to install share/man/man1/mailport.1.
#include <iostream>
#include <sstream>
#include <string>

#include "cli/cli_tree.hpp"
#include "cli/commands.hpp"

namespace mailport::cli {
namespace {

// Text as roff reads it literally: backslashes escaped, hyphens unbreakable, and no line that
// starts with a control character.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string command_name(const CliCommand& command) {
  std::string name = "mailport";
  for (const std::string& part : command.path) name += " " + part;
  return name;
}

void write_options(std::ostream& out, const CliCommand& command) {
  for (const CliOption& option : command.options) {
    out << ".TP\n";
    if (option.names.empty()) {
      out << "\\fI" << roff(option.positional) << "\\fR\n";
    } else {
      for (std::size_t i = 0; i < option.names.size(); ++i) {
        out << (i ? ", " : "") << "\\fB" << roff(option.names[i]) << "\\fR";
      }
      out << (option.takes_value ? " \\fIVALUE\\fR\n" : "\n");
    }
    out << roff(option.description) << "\n";
  }
}

std::string man_page(const CLI::App& root) {
  const std::vector<CliCommand> commands = walk_cli(root);
  const CliCommand& program = commands.front();
  std::ostringstream out;
  out << ".TH MAILPORT 1 \"\" \"mailport " << MAILPORT_VERSION << "\" \"User Commands\"\n"
      << ".SH NAME\n"
      << roff(program.description) << "\n"
      << ".SH SYNOPSIS\n"
      << ".B mailport\n"
      << "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
      << ".SH DESCRIPTION\n"
      << "Every command accepts \\fB\\-\\-help\\fR. Commands:\n";
  for (const CliCommand& command : commands) {
    if (command.path.size() == 1)
      out << ".TP\n.B " << roff(command.path[0]) << "\n" << roff(command.description) << "\n";
  }
  out << ".SH OPTIONS\n";
  write_options(out, program);
  out << ".SH COMMANDS\n";
  for (std::size_t i = 1; i < commands.size(); ++i) {
    out << ".SS \"" << roff(command_name(commands[i])) << "\"\n"
        << roff(commands[i].description) << "\n";
    write_options(out, commands[i]);
  }
  out << ".SH FILES\n"
      << ".TP\n.I /etc/mailport/mailport.toml\n"
      << "The configuration read by the packaged service (see \\fBmailport config check\\fR).\n"
      << ".SH SEE ALSO\n"
      << "The guides in /usr/share/doc/mailport: quickstart.md, configuration.md, "
         "operations.md.\n";
  return out.str();
}

}  // namespace

void setup_man_command(CLI::App& app) {
  CLI::App* man = app.add_subcommand("man", "Print the manual page (roff) generated from --help");
  man->callback([&app] { std::cout << man_page(app) << std::flush; });
}

}  // namespace mailport::cli
