#include "cli/cli_tree.hpp"

namespace mailport::cli {
namespace {

CliOption option_of(const CLI::Option& option) {
  CliOption out;
  for (const std::string& name : option.get_lnames()) out.names.push_back("--" + name);
  for (const std::string& name : option.get_snames()) out.names.push_back("-" + name);
  if (out.names.empty()) out.positional = option.get_name();
  out.description = option.get_description();
  out.takes_value = option.get_items_expected_max() > 0;  // flags expect no items
  return out;
}

void walk(const CLI::App& app, std::vector<std::string> path, std::vector<CliCommand>& out) {
  CliCommand command;
  command.path = path;
  command.description = app.get_description();
  for (const CLI::Option* option : app.get_options()) command.options.push_back(option_of(*option));
  const std::vector<const CLI::App*> children = app.get_subcommands(
      [](const CLI::App* sub) { return !sub->get_name().empty() && !sub->get_group().empty(); });
  for (const CLI::App* child : children) command.subcommands.push_back(child->get_name());
  out.push_back(std::move(command));
  for (const CLI::App* child : children) {
    std::vector<std::string> child_path = path;
    child_path.push_back(child->get_name());
    walk(*child, std::move(child_path), out);
  }
}

}  // namespace

std::vector<CliCommand> walk_cli(const CLI::App& app) {
  std::vector<CliCommand> out;
  walk(app, {}, out);
  return out;
}

}  // namespace mailport::cli
