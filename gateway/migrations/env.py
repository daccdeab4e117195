from gateway.models import Base
from lgsp_kit.migrations import run_env

run_env(Base.metadata)
