#include "cli/commands.h"

int main(int argc, char** argv) { return atomcut::run_cli(argc, argv); }
