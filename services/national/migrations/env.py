from lgsp_kit.migrations import run_env
from services.national.models import Base

run_env(Base.metadata)
