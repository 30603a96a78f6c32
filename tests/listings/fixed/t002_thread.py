# -*- coding: utf-8 -*-
# changed: `import threading` added; n incremented (the listing loops forever);
# print(name, n) written as Python 2 prints two values, without the tuple
import threading
def run():
    print threading.current_thread().name  # 打印当前在运行的线程的名字
    n = 0
    while n<100:
        print threading.current_thread().name, n
        n = n + 1
    print threading.current_thread().name  # 打印当前在运行的线程的名字

print threading.current_thread().name  # 打印当前在运行的线程的名字

t = threading.Thread(target=run, name='THREAD1')
t.start()
t.join()
print "end", threading.current_thread().name  # 打印当前在运行的线程的名字
