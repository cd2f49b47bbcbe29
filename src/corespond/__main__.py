from corespond.cli.main import app

app(prog_name="corespond")
