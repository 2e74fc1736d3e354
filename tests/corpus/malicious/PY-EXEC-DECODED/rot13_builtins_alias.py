# Attack pattern: rot13-encoded code executed through an aliased builtin (getattr(builtins, "exec")) to dodge grep for exec(.
import builtins
import codecs

_run = getattr(builtins, "ex" + "ec")
_PAYLOAD = "vzcbeg bf; bf.flfgrz('vq')"

_run(codecs.decode(_PAYLOAD, "rot13"))
