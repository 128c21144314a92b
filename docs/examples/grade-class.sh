#!/usr/bin/env bash
# Grade a class as independent jobs, then merge: the pattern a batch system runs at scale.
#
#   docs/examples/grade-class.sh SUBMISSIONS_DIR OUT_DIR [grader options, e.g. --chapter mdn]
#
# Every notebook of SUBMISSIONS_DIR is graded by its own `python -m shared.grading` process
# (JOBS at a time, default 2, with xargs), all with the same secret seed, each writing
# OUT_DIR/results/<stem>.result.json; `merge` then writes OUT_DIR/gradebook.csv,
# OUT_DIR/scores.csv and OUT_DIR/feedback/<stem>.feedback.md.
#
# The seed is drawn once and kept in OUT_DIR/seed (keep it private: it reproduces the inputs).
# On a cluster, replace the xargs line by one job per notebook, e.g. a Slurm array:
#   sbatch --array=0-$((N-1)) --wrap 'f=$(ls SUBS/*.ipynb | sed -n "$((SLURM_ARRAY_TASK_ID+1))p");
#          python -m shared.grading "$f" --seed "$(cat OUT/seed)" --result-dir OUT/results'
# and run the same `merge` line when the array has finished.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 SUBMISSIONS_DIR OUT_DIR [grader options]" >&2
  exit 2
fi
subs=$1 out=$2
shift 2
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
mkdir -p "$out/results"
[ -s "$out/seed" ] || "$python" -c "import secrets; print(secrets.randbits(63))" > "$out/seed"
chmod 600 "$out/seed"
seed=$(cat "$out/seed")
find "$subs" -maxdepth 1 -name '*.ipynb' -print0 | sort -z \
  | xargs -0 -P "${JOBS:-2}" -I{} \
      env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$python" -m shared.grading {} --seed "$seed" --result-dir "$out/results" "$@" \
      > "$out/jobs.log" 2>&1
env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$python" -m shared.grading merge "$out/results" \
  --gradebook "$out/gradebook.csv" --out "$out/scores.csv" --feedback-dir "$out/feedback"
