# the listing as printed (a fragment): run where a directory `me` exists
import subprocess
r = subprocess.call(['cp', '-r', 'me', 'me_copy'])
print("Exit code", r)
