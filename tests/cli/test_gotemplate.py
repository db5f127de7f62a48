import pytest

from pyctr.shell.gotemplate import ExecError, TemplateError, render

DATA = {
    "Id": "4fa6e0f0c678",
    "Name": "/web",
    "State": {"Running": False, "ExitCode": 3, "Pid": 0},
    "Config": {"Env": ["A=1", "B=2"], "Cmd": ["echo", "hi"], "Tty": False, "Label": "<x&y>",
               "Entrypoint": None},
    "NetworkSettings": {"IPAddress": "172.17.0.2", "Ports": {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}], "22/tcp": None}},
    "Volumes": {},
    "Ratio": 0.5,
}


@pytest.mark.parametrize("template, expected", [
    ("{{.State.ExitCode}}", "3"),
    ("{{.NetworkSettings.IPAddress}}", "172.17.0.2"),
    ("{{.Name}}", "/web"),
    ("{{json .Config}}",
     '{"Cmd":["echo","hi"],"Entrypoint":null,"Env":["A=1","B=2"],"Label":"\\u003cx\\u0026y\\u003e","Tty":false}'),
    ("{{json .Volumes}}", "{}"),
    ("{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]"),
    ("{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}} {{end}}", "0=echo 1=hi "),
    ("{{range $p, $conf := .NetworkSettings.Ports}}{{$p}};{{end}}", "22/tcp;80/tcp;"),
    ('{{index .NetworkSettings.Ports "80/tcp"}}', "[map[HostIp:0.0.0.0 HostPort:49153]]"),
    ('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', "49153"),
    ('{{index .Config.Cmd 1}}', "hi"),
    ('{{index .NetworkSettings.Ports "443/tcp"}}', "<no value>"),
    ("{{.Config.Entrypoint}}", "<no value>"),
    ("{{.State}}", "map[ExitCode:3 Pid:0 Running:false]"),
    ("{{.Config.Cmd}}", "[echo hi]"),
    ("{{.Ratio}}", "0.5"),
    ("{{if .State.Running}}up{{else}}exited {{.State.ExitCode}}{{end}}", "exited 3"),
    ("{{if eq .State.ExitCode 0}}ok{{else if eq .State.ExitCode 3}}three{{else}}?{{end}}", "three"),
    ("{{with .NetworkSettings}}{{.IPAddress}}{{end}}", "172.17.0.2"),
    ("{{range .Volumes}}x{{else}}none{{end}}", "none"),
    ("{{.Config.Env | len}}", "2"),
    ('{{printf "%s:%d" .Name .State.ExitCode}}', "/web:3"),
    ('{{join .Config.Cmd " "}}', "echo hi"),
    ("{{$n := .Name}}{{$n}}", "/web"),
    ("a {{- .Id -}} b", "a4fa6e0f0c678b"),
    ("{{/* a comment */}}x", "x"),
    ("{{not .State.Running}} {{and .State.ExitCode .Name}} {{or .State.Pid 7}}", "true /web 7"),
    ("{{.}}", "map[Config:map[Cmd:[echo hi] Entrypoint:<nil> Env:[A=1 B=2] Label:<x&y> Tty:false] "
              "Id:4fa6e0f0c678 Name:/web NetworkSettings:map[IPAddress:172.17.0.2 Ports:map[22/tcp:<nil> "
              "80/tcp:[map[HostIp:0.0.0.0 HostPort:49153]]]] Ratio:0.5 State:map[ExitCode:3 Pid:0 "
              "Running:false] Volumes:map[]]"),
])
def test_render(template, expected):
    assert render(template, DATA) == expected


def test_unknown_field_is_a_clear_error():
    with pytest.raises(ExecError) as info:
        render("{{.State.Exitcode}}", DATA)
    assert str(info.value) == \
        'template: :1:2: executing "" at <.State.Exitcode>: map has no entry for key "Exitcode"'
    with pytest.raises(ExecError, match="nil pointer evaluating interface {}.X"):
        render("{{.Config.Entrypoint.X}}", DATA)
    with pytest.raises(ExecError, match="can't evaluate field X in type string"):
        render("{{.Name.X}}", DATA)
    with pytest.raises(ExecError, match="index out of range: 5"):
        render("{{index .Config.Cmd 5}}", DATA)


@pytest.mark.parametrize("template, message", [
    ("{{.Name", "unclosed action"),
    ("{{nosuch .Name}}", 'function "nosuch" not defined'),
    ("{{if .Name}}x", "unexpected EOF"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{(index .X}}", "unclosed left paren"),
])
def test_parse_errors(template, message):
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace("{", r"\{")):
        render(template, DATA)
