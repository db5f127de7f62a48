"""Container names: validation and Docker-style generated names ("eager_curie")."""

from __future__ import annotations

import random
import re

from ..errors import BadRequest

VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")  # 1.2 took one character too

# Our own lists, in the spirit of Docker's namesgenerator.
ADJECTIVES = (
    "agile bold brave bright calm clever cool crisp daring eager elegant fervent "
    "focused gentle happy hardy jolly keen kind lively lucid merry modest nimble "
    "noble patient plucky quiet quirky relaxed sharp spry steady sunny swift tender "
    "tidy upbeat vivid wise witty zealous").split()
SURNAMES = (
    "agnesi babbage bardeen bell bohr boole cori curie darwin dijkstra einstein "
    "euclid euler fermat feynman franklin galois gauss goodall hamilton hopper "
    "hypatia joliot kepler knuth kowalevski lamarr leakey lovelace meitner mirzakhani "
    "newton noether pascal perlman ritchie shannon thompson torvalds turing wozniak").split()


def validate(name: str) -> str:
    """The name with its leading "/", or BadRequest."""
    if not VALID_NAME.match(name):
        raise BadRequest(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name if name.startswith("/") else "/" + name


def generate(taken) -> str:
    """A free "/adjective_surname", with a digit appended when the pairs run out."""
    for attempt in range(100):
        name = f"/{random.choice(ADJECTIVES)}_{random.choice(SURNAMES)}"
        if attempt > 10:
            name += str(random.randint(0, 9))
        if not taken(name):
            return name
    raise RuntimeError("could not generate a free container name")
