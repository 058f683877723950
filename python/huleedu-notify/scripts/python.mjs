// Runs a Python module (pytest, mypy) with the interpreter that has Debian's python3-redis and
// python3-jsonschema: $PYTHON, else /usr/bin/python3 (a pyenv python3 first on PATH may lack
// them), else python3. Passes the exit code through, so pytest's 5 (no tests ran) fails the task.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const python =
  process.env.PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const run = spawnSync(python, process.argv.slice(2), { stdio: 'inherit' });
if (run.error) {
  console.error(`cannot run ${python}: ${run.error.message} (set PYTHON to a python3 >= 3.11)`);
  process.exit(1);
}
process.exit(run.status ?? 1);
