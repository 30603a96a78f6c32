# changed: `i` defined (the fragment uses it undefined: NameError)
from multiprocessing import Process

def run(i):
    print i

i = 0
p = Process(target=run, args=(i,))
p.start()
p.join()
