#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"mailport - POP3/POP3S mail server and toolkit"};
  CLI11_PARSE(app, argc, argv);
  return 0;
}
