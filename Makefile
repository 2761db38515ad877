# The two commands of the README. Both set up a fresh machine first.
.PHONY: demo test bench

demo:  ## install what is needed and run the pipeline on sample scans
	bash scripts/demo.sh

test:  ## install what is needed and run the tests
	bash scripts/test.sh

bench: ## run the benchmarks (see bench/)
	SOHOA_BENCH=1 bash scripts/bootstrap.sh && .venv/bin/python bench/pipeline.py && .venv/bin/python bench/ocr.py
