# Sourced by the install-*.sh scripts: installs one pinned PyPI package into a project-local venv.
# pypi_tool_install <venv dir> <package==version> <command the package provides>
# Returns 0 once the command answers --version from the venv, 1 (and removes the venv) otherwise.
pypi_tool_install() {
  local dir="$1" requirement="$2" command="$3"
  command -v python3 >/dev/null 2>&1 || return 1
  echo "installing $requirement (PyPI) into $dir ..."
  rm -rf "$dir"
  if python3 -m venv "$dir" && "$dir/bin/pip" install --quiet --disable-pip-version-check "$requirement" \
    && "$dir/bin/$command" --version; then
    return 0
  fi
  rm -rf "$dir"
  return 1
}
