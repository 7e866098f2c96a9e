#!/usr/bin/env python3
"""Sketch behind training.lemotif.lexical.goemotions / chars (docs/train.md): scikit-learn
logistic regressions (C 4, balanced) on word tf-idf of Lemotif entries, 5-fold CV twice (seeds
0, 1) over all entries, alone (w) and with hashed char_wb 2-5 n-grams (ch), with the 28 logits
of a GoEmotions word tf-idf classifier standardised x 0.1 (ge), with word bigrams (bi), or
combinations (chge, chgebi); prints mean macro and micro AUC.
    /usr/bin/python3 tools/sketches/lexical_emotion_cv.py w chge      (about a minute)
Data: $AFFECT_DATA, else ../shared/data."""
DATA = __import__("os").environ.get("AFFECT_DATA", "../shared/data")
import csv, os, numpy as np, sys
from sklearn.feature_extraction.text import TfidfVectorizer, HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold
from scipy.sparse import hstack, csr_matrix
rows=list(csv.DictReader(open(os.path.join(DATA, 'lemotif/lemotif.csv'),encoding='utf-8')))
labs=[k for k in rows[0] if k.startswith('Answer.f1.')]
X=[r['Answer'] for r in rows]; Y=np.array([[r[k].lower()=='true' for k in labs] for r in rows],int)
ge=[l.split('\t') for l in open(os.path.join(DATA, 'goemotions/train.tsv'),encoding='utf-8').read().splitlines()]
gX=[g[0] for g in ge]; gY=np.zeros((len(ge),28),int)
for i,g in enumerate(ge):
    for t in g[1].split(','): gY[i,int(t)]=1
wv=TfidfVectorizer(sublinear_tf=True,min_df=1)
wv.fit(gX+X)
gW=wv.transform(gX)
gmods=[LogisticRegression(C=4,max_iter=2000).fit(gW,gY[:,j]) for j in range(28)]
def gefeat(txts):
    W=wv.transform(txts); return np.stack([m.decision_function(W) for m in gmods],1)
GL=gefeat(X)
def auc(Yt,P):
    per=[roc_auc_score(Yt[:,j],P[:,j]) for j in range(Yt.shape[1]) if 0<Yt[:,j].sum()<len(Yt)]
    return np.mean(per), roc_auc_score(Yt.ravel(),P.ravel())
def run(variant,C=4,seed=0,gs=0.1,cs=1.0):
    res=[]
    for tr,te in KFold(5,shuffle=True,random_state=seed).split(X):
        Xtr=[X[i] for i in tr]; Xte=[X[i] for i in te]
        v=TfidfVectorizer(sublinear_tf=True,ngram_range=(1,2) if 'bi' in variant else (1,1)).fit(Xtr)
        A=[v.transform(Xtr)]; B=[v.transform(Xte)]
        if 'ch' in variant:
            h=HashingVectorizer(analyzer='char_wb',ngram_range=(2,5),lowercase=False,alternate_sign=False,norm=None,n_features=65536)
            t=TfidfTransformer(sublinear_tf=True).fit(h.transform(Xtr))
            A.append(cs*t.transform(h.transform(Xtr))); B.append(cs*t.transform(h.transform(Xte)))
        if 'ge' in variant:
            mu=GL[tr].mean(0); sd=GL[tr].std(0)+1e-9
            A.append(csr_matrix(gs*(GL[tr]-mu)/sd)); B.append(csr_matrix(gs*(GL[te]-mu)/sd))
        A=hstack(A).tocsr(); B=hstack(B).tocsr()
        P=np.zeros((len(te),Y.shape[1]))
        for j in range(Y.shape[1]):
            if Y[tr,j].sum()==0: continue
            m=LogisticRegression(C=C,class_weight='balanced',max_iter=3000).fit(A,Y[tr,j]); P[:,j]=m.decision_function(B)
        res.append(auc(Y[te],P))
    return np.mean(res,0)
for var in sys.argv[1:]:
    name,*kv=var.split(':'); kw={k:float(v) for k,v in (x.split('=') for x in kv)}
    r=np.mean([run(name,seed=s,**kw) for s in (0,1)],0)
    print(var, 'macro %.4f micro %.4f'%tuple(r),flush=True)
