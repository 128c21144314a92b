# Two commands: `make book` builds the website, `make test` runs the whole test suite.
# Both create the virtual environment .venv from requirements.txt on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Progress bars are for people at a notebook, not for logs and web pages.
export TQDM_DISABLE := 1
export PYTHONPATH := $(CURDIR)

.PHONY: env book book-quick long-runs stored-executions publish timings test test-projects test-compat rehearse-colab exercises student-edition benchmark clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)"
	touch $(STAMP)

## env: a student's local setup, no test suite: the virtual environment .venv (pinned requirements) and
## its Jupyter kernel, registered for this user as "Python 3 (course)" so that any Jupyter or VS Code finds it
env: $(STAMP)
	$(PY) -m ipykernel install --user --name course --display-name "Python 3 (course)"
	@echo "Ready: open a notebook with Jupyter or VS Code and choose the kernel \"Python 3 (course)\"."

## book: execute every notebook with the full training budgets and build the website in _build/html (the graded
## projects' solutions show their stored executions, solutions/executed/: the build stops, printing the command that
## makes them again, if one is stale); one Sphinx build per language (_build/html/en/, _build/html/es/) and the
## landing page (_build/html/index.html), by _ext/build_site.py; the build report (_build/build-report.json,
## printed at the end) times every notebook and cell; the build fails if a claim of the prose does not hold, or if a
## notebook took more than 25 % longer than the time its setup cell states (shared/timings.json, `make timings`)
book: $(STAMP)
	$(PY) _ext/build_site.py

## long-runs: the models and executions that the website and the readers load instead of training them again
## (committed), in three steps, about 50 minutes on 2 idle cores:
## (1) the models the chapters share (long_runs/models/): the course classifier of the FID (shared.quality) and the
## VAE chapter's model at its full budget, which the GAN chapter loads when the VAE chapter has not run (shared.vae)
## (3 minutes); (2) the chapters' stored long runs (long_runs/): execute each chapter with its full budgets and
## COURSE_LONG_RUNS=train, so that every long_run(...) cell trains and stores its run (34 minutes);
## (3) make stored-executions (13 minutes).
## Needed when tests/test_long_runs.py says that a chapter's code changed, or tests/test_quality.py or
## tests/test_vae.py that a stored model is missing (a version bump). LONG_RUN_NOTEBOOKS= limits step (2) to some
## chapters (steps 1 and 3 still run); to remake one chapter's runs only: python -m shared.long_runs make NOTEBOOK
LONG_RUN_NOTEBOOKS ?= book/en/gan.ipynb book/en/vae.ipynb
long-runs: $(STAMP)
	$(PY) -m shared.quality store
	$(PY) -m shared.vae store
	$(PY) -m shared.long_runs make $(LONG_RUN_NOTEBOOKS)
	$(MAKE) stored-executions

## stored-executions: the graded projects' solutions executed at full budget, both languages, and stored in
## solutions/executed/ (_ext/stored_executions.py), the executions the website shows (13 minutes); needed
## whenever tests/test_stored_executions.py says that a solution's code changed
## (STORED_EXECUTIONS="solutions/en/gan-project.ipynb solutions/es/gan-project.ipynb" makes only those)
STORED_EXECUTIONS ?= $(wildcard solutions/*/*-project.ipynb)
stored-executions: $(STAMP)
	$(PY) _ext/stored_executions.py make $(STORED_EXECUTIONS)

## publish: push the website that `make book` built (_build/html, both languages) to the gh-pages branch
## (ghp-import); on GitHub, .github/workflows/site.yml tests, builds and deploys it on every push to main
publish: $(STAMP)
	@test -f _build/html/index.html || { echo "no website in _build/html: run make book first" >&2; exit 1; }
	$(VENV)/bin/ghp-import --no-jekyll --push --force _build/html

## timings: write the times measured by the last `make book` into shared/timings.json
## (the estimates the setup cells print)
timings: $(STAMP)
	$(PY) -m shared.timings write

## book-quick: the same with quick budgets and warnings as errors, into _build/quick/_build/html
## (what the tests build; the graded projects' solutions are not executed there: their end-to-end tests run them)
book-quick: $(STAMP)
	$(PY) _ext/build_site.py --quick --strict --out _build/quick

## test: the whole test suite (quick budgets): unit tests, exercises, grading, the graded projects
## end to end, and the website's quick build (tests/test_site.py, both languages), which executes every
## book and exercise-solution notebook top to bottom and fails on any cell error, with its traceback;
## nbval also runs the English solution notebooks cell by cell (the projects' run in tests/test_projects*.py)
test: $(STAMP)
	COURSE_QUICK=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder tests \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=900 solutions/en \
		--ignore-glob='solutions/en/*-project.ipynb'

## test-projects: the graded projects end to end at full budget: the solutions train as a student's
## would (several minutes each for the GAN and the VAE on 2 cores) and must earn full marks
## (make test trains them at the quick budget and checks that they are graded, not refused)
test-projects: $(STAMP)
	COURSE_PROJECTS_FULL=1 $(PY) -m pytest -n 2 --dist loadfile \
		tests/test_projects.py tests/test_projects_gan.py tests/test_projects_vae.py

## test-compat: the compatibility matrix, not part of make test: for each environment set of compat/sets.toml
## (pinned, newest, older) a fresh venv in _build/compat/, the unit tests of shared and every notebook with the
## quick budgets; prints the table, writes compat/report.md and shared/supported.json (the setup cell's range)
test-compat: $(STAMP)
	$(PY) compat/matrix.py

## rehearse-colab: the Colab rehearsal, not part of make test (about 40 minutes on 2 cores): every book, solution and
## exercise notebook (an exercise twice: answered with its solution's code, and untouched) alone in an empty folder,
## on a fresh kernel of the "older" set's environment (_build/compat/older, without the course on its path; reused
## when it has the set's requirements, REHEARSAL_ARGS= makes it again), its setup cell cloning the course from a
## bare clone of HEAD; prints the table and writes compat/rehearsal.md (executed notebooks in _build/rehearsal)
REHEARSAL_ARGS ?= --keep
rehearse-colab: $(STAMP)
	$(PY) compat/rehearsal.py $(REHEARSAL_ARGS)

## exercises: regenerate exercises/ from solutions/
exercises: $(STAMP)
	$(PY) -m shared.exercises

## student-edition: the course without solutions, answer key or grader, for its own repository
## (into _build/student-edition, or EDITION_OUT=dir; verified: fails if anything leaks)
EDITION_OUT ?= _build/student-edition
student-edition: $(STAMP)
	$(PY) -m shared.edition --out $(EDITION_OUT)

## benchmark: print the MDN, VAE and GAN benchmarks (full budgets; about 30 minutes on 2 cores)
benchmark: $(STAMP)
	COURSE_QUICK=0 $(PY) benchmarks/mdn.py
	COURSE_QUICK=0 $(PY) benchmarks/vae.py
	COURSE_QUICK=0 $(PY) benchmarks/gan.py

clean:
	rm -rf _build
