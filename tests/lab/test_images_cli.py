"""lab.images.cli: the recipes' command line prints the tag alone on stdout, everything else on stderr."""

from lab.errors import CommandError, PreconditionError
from lab.images.cli import print_tag


def test_only_the_tag_reaches_stdout(capsys):
    def build():
        print("docker build ... step 3/9")  # a command's echo: on stderr, so $(python -m ...) is the tag
        return "cassandra-lab:5.0.9-abc"

    assert print_tag(build) == 0
    out, err = capsys.readouterr()
    assert out == "cassandra-lab:5.0.9-abc\n" and "step 3/9" in err


def test_a_lab_error_is_one_line_and_its_exit_code(capsys):
    def missing_go():
        raise PreconditionError("go not found on PATH")

    assert print_tag(missing_go) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "error: go not found on PATH\n"
    assert print_tag(lambda: (_ for _ in ()).throw(CommandError(["docker", "build"], 1, "", "no space"))) == 1
